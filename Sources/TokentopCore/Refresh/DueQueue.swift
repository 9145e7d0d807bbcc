import Foundation

/// Connections ordered by when they are due, as a binary min-heap.
///
/// Rescheduling pushes a new entry and remembers the latest due time per id; stale entries are dropped when they
/// reach the top, so every operation costs O(log n) and nothing scans all connections.
struct DueQueue {
    private var heap = MinHeap<Date, String>()
    private var current: [String: Date] = [:]

    /// How many connections are scheduled.
    var count: Int { current.count }

    /// Makes room for `count` connections at once: scheduling a fleet of 100,000 grew the table by doubling, and
    /// rehashed every id each time.
    mutating func reserveCapacity(_ count: Int) {
        current.reserveCapacity(count)
        heap.reserveCapacity(count)
    }

    /// Schedules `id` at `due`, replacing any earlier schedule; nil removes it.
    mutating func schedule(_ id: String, at due: Date?) {
        guard let due else {
            current[id] = nil
            return
        }
        current[id] = due
        heap.push(id, key: due)
    }

    /// The earliest due time still scheduled.
    mutating func nextDue() -> Date? {
        dropStale()
        return heap.top?.key
    }

    /// Removes and returns the id at the top when it is due at `now`.
    mutating func popDue(at now: Date) -> String? {
        dropStale()
        guard let top = heap.top, top.key <= now else { return nil }
        heap.pop()
        current[top.value] = nil
        return top.value
    }

    private mutating func dropStale() {
        while let top = heap.top, current[top.value] != top.key { heap.pop() }
    }
}
