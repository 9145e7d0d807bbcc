/// A binary min-heap of values ordered by a key: the due-time queues of the refresh actor and the status tally.
///
/// Neither removes an entry in the middle: both leave stale entries behind and skip them at the top, so push and
/// pop are all they need, each O(log n).
struct MinHeap<Key: Comparable, Value> {
    private(set) var entries: [(key: Key, value: Value)] = []

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }
    /// The entry with the smallest key.
    var top: (key: Key, value: Value)? { entries.first }

    /// A heap of `entries`, ordered in O(n).
    init(_ entries: [(key: Key, value: Value)] = []) {
        self.entries = entries
        guard entries.count > 1 else { return }
        for index in stride(from: entries.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    mutating func push(_ value: Value, key: Key) {
        entries.append((key, value))
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].key < entries[parent].key else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the entry with the smallest key.
    @discardableResult
    mutating func pop() -> (key: Key, value: Value)? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(0)
        }
        return first
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].key < entries[smallest].key { smallest = left }
            if right < entries.count, entries[right].key < entries[smallest].key { smallest = right }
            guard smallest != parent else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
