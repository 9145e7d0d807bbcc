import Foundation

/// How many connections have each status, kept current as connections change and as the clock carries them into
/// their lead windows, so that the header's counts never scan every connection.
///
/// A status changes by the clock alone at one moment at most: a healthy token becomes `expiring` when its lead
/// window opens, or `expired` at its expiry when nothing can renew it. Those moments wait in a min-heap; advancing
/// the clock pops only the ones it passed. A write recomputes only the connection it wrote.
struct StatusTally {
    private(set) var counts: [ConnectionStatus: Int] = [:]
    /// The time the counts hold for.
    private(set) var time: Date
    /// Each position's status at ``time``, as an index into `ConnectionStatus.allCases`.
    private var statuses: [UInt8] = []
    /// Each position's next change by the clock (seconds since the reference date), or infinity.
    private var changes: [Double] = []
    private var heap: [Entry] = []
    private let policy: RefreshPolicy

    private struct Entry {
        var at: Double
        var position: Int32
    }

    private static let all = ConnectionStatus.allCases

    init(_ connections: ConnectionList, inFlight: Set<String>, policy: RefreshPolicy, at now: Date) {
        self.policy = policy
        time = now
        statuses.reserveCapacity(connections.count)
        changes.reserveCapacity(connections.count)
        for (position, connection) in connections.enumerated() {
            let status = connection.status(at: now, inFlight: inFlight.contains(connection.id), policy: policy)
            let change = Self.nextChange(connection, status: status, policy: policy)
            statuses.append(Self.code(status))
            changes.append(change)
            counts[status, default: 0] += 1
            if change.isFinite { heap.append(Entry(at: change, position: Int32(position))) }
        }
        heapify()
    }

    /// Recomputes the connection at `position` after a write.
    mutating func update(_ position: Int, _ connection: Connection, inFlight: Bool) {
        guard position < statuses.count else { return }
        let status = connection.status(at: time, inFlight: inFlight, policy: policy)
        counts[Self.all[Int(statuses[position])], default: 0] -= 1
        counts[status, default: 0] += 1
        statuses[position] = Self.code(status)
        let change = Self.nextChange(connection, status: status, policy: policy)
        changes[position] = change
        if change.isFinite { push(Entry(at: change, position: Int32(position))) }
        // Rescheduled positions leave stale entries behind; start afresh before they outnumber the live ones.
        if heap.count > 2 * statuses.count + 1_024 { rebuildHeap() }
    }

    /// Moves the counts to `now`, recomputing only the connections whose status the clock changed meanwhile.
    mutating func advance(to now: Date, _ connections: ConnectionList, inFlight: Set<String>) {
        guard now > time else { return }
        time = now
        let limit = now.timeIntervalSinceReferenceDate
        while let top = heap.first, top.at <= limit {
            popTop()
            let position = Int(top.position)
            // Skip an entry that a later write replaced.
            guard changes[position] == top.at, position < connections.count else { continue }
            let connection = connections[position]
            update(position, connection, inFlight: inFlight.contains(connection.id))
        }
    }

    /// When the clock alone next changes `connection`'s status, or infinity.
    static func nextChange(_ connection: Connection, status: ConnectionStatus, policy: RefreshPolicy) -> Double {
        guard status == .healthy, let expiresAt = connection.expiresAt else { return .infinity }
        let at = connection.isRenewable
            ? expiresAt.addingTimeInterval(-policy.windowStart(connection, expiresAt: expiresAt)) : expiresAt
        return at.timeIntervalSinceReferenceDate
    }

    private static func code(_ status: ConnectionStatus) -> UInt8 {
        UInt8(all.firstIndex(of: status)!)
    }

    // MARK: - The heap

    private mutating func rebuildHeap() {
        heap.removeAll(keepingCapacity: true)
        for (position, change) in changes.enumerated() where change.isFinite {
            heap.append(Entry(at: change, position: Int32(position)))
        }
        heapify()
    }

    private mutating func heapify() {
        guard heap.count > 1 else { return }
        for index in stride(from: heap.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    private mutating func push(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].at < heap[parent].at else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].at < heap[smallest].at { smallest = left }
            if right < heap.count, heap[right].at < heap[smallest].at { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
