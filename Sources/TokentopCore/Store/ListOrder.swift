import Foundation

/// The order of connections in a list: by scope, then by id, ids compared as UTF-8 bytes as SQLite's BINARY
/// collation does.
///
/// Sorted here rather than by SQLite, whose sorter copied every column of every row: at 100,000 connections that
/// cost as much as reading them. Each connection's scope and the first 23 bytes of its id are packed into three
/// integers, so that almost every comparison is one of integers; two ids that share those bytes are compared whole,
/// from one buffer, so that no comparison touches a String.
struct ListOrder: Sendable {
    private struct Entry: Sendable {
        var keys: (UInt64, UInt64, UInt64)
        /// The connection's position among the rows sorted.
        var position: Int
    }

    /// The entries in list order.
    private var entries: [Entry] = []
    /// Every id's bytes, one after another, and where each position's begin and end.
    private var bytes: [UInt8] = []
    private var bounds: [Range<Int>] = []

    /// The order of `rows`.
    init(_ rows: [Connection]) {
        entries.reserveCapacity(rows.count)
        bounds.reserveCapacity(rows.count)
        for (position, row) in rows.enumerated() {
            let start = bytes.count
            bytes.append(contentsOf: row.id.utf8)
            bounds.append(start..<bytes.count)
            entries.append(Entry(keys: Self.keys(scope: row.scope.ordinal, bytes[start...]), position: position))
        }
        var sorted = entries
        entries = []
        sorted.sort { Self.precedes($0, in: self, $1, in: self) }
        entries = sorted
    }

    /// The positions of the rows, in list order.
    var positions: [Int] { entries.map(\.position) }

    /// The positions of `lower`'s rows followed by `upper`'s (each moved by `offset`), in list order; nil when both
    /// hold a connection of the same scope and id.
    static func merged(_ lower: ListOrder, _ upper: ListOrder, offset: Int) -> [Int]? {
        var order: [Int] = []
        order.reserveCapacity(lower.entries.count + upper.entries.count)
        var (left, right) = (0, 0)
        while left < lower.entries.count, right < upper.entries.count {
            let (low, high) = (lower.entries[left], upper.entries[right])
            if precedes(high, in: upper, low, in: lower) {
                order.append(offset + high.position)
                right += 1
            } else {
                guard precedes(low, in: lower, high, in: upper) else { return nil }
                order.append(low.position)
                left += 1
            }
        }
        order += lower.entries[left...].map(\.position)
        order += upper.entries[right...].map { offset + $0.position }
        return order
    }

    /// `list`, in list order, with `added` in their places.
    static func merging(_ added: [Connection], into list: ConnectionList) -> ConnectionList {
        let incoming = ListOrder(added).positions.map { added[$0] }
        var merged: [Connection] = []
        merged.reserveCapacity(list.count + incoming.count)
        var next = 0
        for position in list.indices {
            while next < incoming.count, precedes(incoming[next], list[position]) {
                merged.append(incoming[next])
                next += 1
            }
            merged.append(list[position])
        }
        merged += incoming[next...]
        return ConnectionList(merged)
    }

    /// Whether `left` comes before `right` in list order.
    static func precedes(_ left: Connection, _ right: Connection) -> Bool {
        let (leftScope, rightScope) = (left.scope.ordinal, right.scope.ordinal)
        if leftScope != rightScope { return leftScope < rightScope }
        var (leftID, rightID) = (left.id, right.id)
        return leftID.withUTF8 { leftBytes in
            rightID.withUTF8 { rightBytes in leftBytes.lexicographicallyPrecedes(rightBytes) }
        }
    }

    /// The scope, then the id's first 23 bytes, big-endian, padded with zeros: integers ordered as the pairs are.
    /// A zero pad sorts a shorter id first, as a prefix is; an id holding a zero byte ties and is compared whole.
    private static func keys(scope: Int, _ id: ArraySlice<UInt8>) -> (UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64) = (UInt64(scope) << 56, 0, 0)
        for (offset, byte) in id.prefix(23).enumerated() {
            let place = offset + 1
            let shift = UInt64(56 - 8 * (place % 8))
            switch place / 8 {
            case 0: words.0 |= UInt64(byte) << shift
            case 1: words.1 |= UInt64(byte) << shift
            default: words.2 |= UInt64(byte) << shift
            }
        }
        return words
    }

    private static func precedes(_ left: Entry, in leftOrder: ListOrder, _ right: Entry, in rightOrder: ListOrder)
        -> Bool
    {
        if left.keys.0 != right.keys.0 { return left.keys.0 < right.keys.0 }
        if left.keys.1 != right.keys.1 { return left.keys.1 < right.keys.1 }
        if left.keys.2 != right.keys.2 { return left.keys.2 < right.keys.2 }
        // The same scope and the same first 23 bytes: the ids whole.
        let leftID = leftOrder.bytes[leftOrder.bounds[left.position]]
        let rightID = rightOrder.bytes[rightOrder.bounds[right.position]]
        return leftID.lexicographicallyPrecedes(rightID)
    }
}
