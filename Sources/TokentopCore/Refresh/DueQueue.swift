import Foundation

/// Connections ordered by when they are due, as a binary min-heap.
///
/// Rescheduling pushes a new entry and remembers the latest due time per id; stale entries are dropped when they
/// reach the top, so every operation costs O(log n) and nothing scans all connections.
struct DueQueue {
    private struct Entry {
        var due: Date
        var id: String
    }

    private var heap: [Entry] = []
    private var current: [String: Date] = [:]

    /// How many connections are scheduled.
    var count: Int { current.count }

    /// Schedules `id` at `due`, replacing any earlier schedule; nil removes it.
    mutating func schedule(_ id: String, at due: Date?) {
        guard let due else {
            current[id] = nil
            return
        }
        current[id] = due
        heap.append(Entry(due: due, id: id))
        siftUp(heap.count - 1)
    }

    /// The earliest due time still scheduled.
    mutating func nextDue() -> Date? {
        dropStale()
        return heap.first?.due
    }

    /// Removes and returns the id at the top when it is due at `now`.
    mutating func popDue(at now: Date) -> String? {
        dropStale()
        guard let top = heap.first, top.due <= now else { return nil }
        removeTop()
        current[top.id] = nil
        return top.id
    }

    private mutating func dropStale() {
        while let top = heap.first, current[top.id] != top.due { removeTop() }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].due < heap[parent].due else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].due < heap[smallest].due { smallest = left }
            if right < heap.count, heap[right].due < heap[smallest].due { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
