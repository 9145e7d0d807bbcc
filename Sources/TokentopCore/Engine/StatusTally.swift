import Dispatch
import Foundation
import Synchronization

/// How many connections have each status, kept current as connections change and as the clock carries them into
/// their lead windows, so that the header's counts never scan every connection.
///
/// A status changes by the clock alone at one moment at most: a healthy renewable token becomes `expiring` when its
/// lead window opens (and stays so past its expiry), and a token nothing can renew, healthy or failing, becomes
/// `expired` at its expiry. Those moments wait in a min-heap; advancing the clock pops only the ones it passed. A
/// write recomputes only the connection it wrote, and the connections whose status derives from it.
///
/// Statuses are those of ``DashboardSnapshot/status(of:at:)``: a connection whose token derives from its parent's
/// takes the parent into account. A parent's status changes by the clock or by a write, and either recomputes its
/// children here.
struct StatusTally {
    private(set) var counts: [ConnectionStatus: Int] = [:]
    /// The time the counts hold for.
    private(set) var time: Date
    /// Each position's status at ``time``, as an index into `ConnectionStatus.allCases`.
    private var statuses: [UInt8] = []
    /// Each position's next change by the clock (seconds since the reference date), or infinity.
    private var changes: [Double] = []
    /// Each position's next change, keyed by time; entries a later write replaced stay until they reach the top.
    private var heap = MinHeap<Double, Int32>()
    private let policy: RefreshPolicy
    /// For each connection that derives its token from a parent: the parent's position, or -1 when it is missing.
    private var parentOf: [Int: Int] = [:]
    /// The parent id each such connection had when its parent was found, to notice a change.
    private var parentIDs: [Int: String] = [:]
    /// The positions of each parent's deriving children.
    private var childrenOf: [Int: [Int]] = [:]

    private static let all = ConnectionStatus.allCases

    /// How many connections a tally counts on two cores at once.
    static let twoCoresFrom = 20_000

    /// What one core counted: the statuses and next changes of its positions, and how many have each status.
    private struct Part: Sendable {
        var statuses: [UInt8] = []
        var changes: [Double] = []
        var counts = [Int](repeating: 0, count: StatusTally.all.count)
    }

    init(_ connections: ConnectionList, inFlight: Set<String>, policy: RefreshPolicy, at now: Date) {
        self.policy = policy
        time = now
        findParents(connections)
        let count = connections.count
        // At 100,000 connections this is about a sixth of a cold start, with the second core idle: each half of the
        // positions is counted on its own core, into its own arrays.
        let parts = count >= Self.twoCoresFrom ? 2 : 1
        let results = Mutex([Part?](repeating: nil, count: parts))
        let (parentOf, parentIDs) = (self.parentOf, self.parentIDs)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            var result = Part()
            let positions = (count * part / parts)..<(count * (part + 1) / parts)
            result.statuses.reserveCapacity(positions.count)
            result.changes.reserveCapacity(positions.count)
            for position in positions {
                let connection = connections[position]
                let own = connection.status(
                    at: now, inFlight: !inFlight.isEmpty && inFlight.contains(connection.id), policy: policy)
                // Only a connection that derives from a parent has a status other than its own.
                let status =
                    parentIDs[position] == nil
                    ? own
                    : Self.derivedStatus(
                        connection, parent: parentOf[position], connections, inFlight: inFlight, policy: policy,
                        at: now)
                let code = Self.code(status)
                result.statuses.append(code)
                result.changes.append(Self.nextChange(connection, status: own, policy: policy))
                result.counts[Int(code)] += 1
            }
            results.withLock { $0[part] = result }
        }
        statuses.reserveCapacity(count)
        changes.reserveCapacity(count)
        var totals = [Int](repeating: 0, count: Self.all.count)
        for case let part? in results.withLock({ $0 }) {
            statuses += part.statuses
            changes += part.changes
            for code in totals.indices { totals[code] += part.counts[code] }
        }
        for (code, status) in Self.all.enumerated() where totals[code] > 0 { counts[status] = totals[code] }
        rebuildHeap()
    }

    /// Whether the tally still knows `connection`'s parent, written at `position`; false means count afresh.
    func knowsParent(of connection: Connection, at position: Int) -> Bool {
        let derived = connection.grant.derivesFromParent ? connection.parentID : nil
        return parentIDs[position] == derived
    }

    /// Recomputes the connection at `position` after a write, and the connections that derive from it.
    mutating func update(_ position: Int, _ connections: ConnectionList, inFlight: Set<String>) {
        guard position < statuses.count, position < connections.count else { return }
        recount(position, connections, inFlight: inFlight)
        for child in childrenOf[position] ?? [] where child < connections.count {
            recount(child, connections, inFlight: inFlight)
        }
    }

    private mutating func recount(_ position: Int, _ connections: ConnectionList, inFlight: Set<String>) {
        let connection = connections[position]
        let status = derivedStatus(position, connection, connections, inFlight: inFlight)
        counts[Self.all[Int(statuses[position])], default: 0] -= 1
        counts[status, default: 0] += 1
        statuses[position] = Self.code(status)
        // The clock changes the connection's own status; a change of its parent's comes through the parent.
        let own = connection.status(at: time, inFlight: inFlight.contains(connection.id), policy: policy)
        let change = Self.nextChange(connection, status: own, policy: policy)
        changes[position] = change
        if change.isFinite { heap.push(Int32(position), key: change) }
        // Rescheduled positions leave stale entries behind; start afresh before they outnumber the live ones.
        if heap.count > 2 * statuses.count + 1_024 { rebuildHeap() }
    }

    /// Moves the counts to `now`, recomputing only the connections whose status the clock changed meanwhile.
    mutating func advance(to now: Date, _ connections: ConnectionList, inFlight: Set<String>) {
        guard now > time else { return }
        time = now
        let limit = now.timeIntervalSinceReferenceDate
        while let top = heap.top, top.key <= limit {
            heap.pop()
            let position = Int(top.value)
            // Skip an entry that a later write replaced.
            guard changes[position] == top.key, position < connections.count else { continue }
            update(position, connections, inFlight: inFlight)
        }
    }

    /// The status `DashboardSnapshot.status(of:at:)` gives at ``time``, with the parent found by position.
    private func derivedStatus(
        _ position: Int, _ connection: Connection, _ connections: ConnectionList, inFlight: Set<String>
    ) -> ConnectionStatus {
        Self.derivedStatus(
            connection, parent: parentOf[position], connections, inFlight: inFlight, policy: policy, at: time)
    }

    /// The status `DashboardSnapshot.status(of:at:)` gives at `now`, with the parent at position `parent` (-1 or
    /// nil for none).
    private static func derivedStatus(
        _ connection: Connection, parent: Int?, _ connections: ConnectionList, inFlight: Set<String>,
        policy: RefreshPolicy, at now: Date
    ) -> ConnectionStatus {
        let parent = parent.flatMap { $0 >= 0 && $0 < connections.count ? connections[$0] : nil }
        return connection.status(at: now, inFlight: inFlight, policy: policy, parent: parent)
    }

    /// Finds the parent of each connection that derives from one. A fleet without such connections pays one look
    /// at each grant; otherwise one more pass hashes each id.
    private mutating func findParents(_ connections: ConnectionList) {
        var wanted: [String: [Int]] = [:]
        for (position, connection) in connections.enumerated() where connection.grant.derivesFromParent {
            guard let parentID = connection.parentID else { continue }
            wanted[parentID, default: []].append(position)
            parentIDs[position] = parentID
            parentOf[position] = -1
        }
        guard !wanted.isEmpty else { return }
        for (position, connection) in connections.enumerated() {
            guard let children = wanted.removeValue(forKey: connection.id) else { continue }
            for child in children { parentOf[child] = position }
            childrenOf[position] = children
            if wanted.isEmpty { break }
        }
    }

    /// When the clock alone next changes `connection`'s own status, or infinity.
    ///
    /// A renewable token that is `expiring` or `failing` keeps that status past its expiry, so it schedules nothing:
    /// a moment that changes nothing would come back to the top of the heap at once.
    static func nextChange(_ connection: Connection, status: ConnectionStatus, policy: RefreshPolicy) -> Double {
        guard let expiresAt = connection.expiresAt else { return .infinity }
        let at: Date
        if connection.isRenewable {
            guard status == .healthy else { return .infinity }
            at = expiresAt.addingTimeInterval(-policy.windowStart(connection, expiresAt: expiresAt))
        } else {
            // A token nothing can renew may be failing while it lasts (a refresh tried and failed); both expire.
            guard status == .healthy || status == .failing else { return .infinity }
            at = expiresAt
        }
        return at.timeIntervalSinceReferenceDate
    }

    private static func code(_ status: ConnectionStatus) -> UInt8 {
        UInt8(all.firstIndex(of: status)!)
    }

    // MARK: - The heap

    private mutating func rebuildHeap() {
        heap = MinHeap(
            changes.enumerated().compactMap { position, change in
                change.isFinite ? (key: change, value: Int32(position)) : nil
            })
    }
}
