import Foundation

/// A snapshot's connections, kept in chunks of fixed size so that replacing one copies one chunk, not all of them.
///
/// The front end holds a snapshot while the refresh actor writes the next one. With one flat array, each write
/// under a held snapshot copied every connection (tens of megabytes at 100,000); here it copies one chunk of
/// ``chunkSize`` and the short list of chunks. It reads and mutates like an array; inserting or removing in the
/// middle rebuilds the chunks, which only another process's import does.
///
/// It is not a `RangeReplaceableCollection` on purpose: `filter` and `map` return arrays, as they did when this was
/// one.
public struct ConnectionList: RandomAccessCollection, MutableCollection, Sendable, Equatable,
    ExpressibleByArrayLiteral
{
    /// How many connections share one chunk: a copy on write costs about this many.
    @usableFromInline static let chunkShift = 6
    static let chunkSize = 1 << chunkShift
    @usableFromInline static let chunkMask = chunkSize - 1

    /// Every chunk is full except the last, so a position maps to its chunk by shifts alone.
    @usableFromInline var chunks: [[Connection]] = []
    @usableFromInline var total = 0

    /// An empty list.
    public init() {}

    /// The connections of `elements`, in their order.
    public init<S: Sequence>(_ elements: S) where S.Element == Connection {
        for connection in elements { append(connection) }
    }

    /// The connections written as an array literal.
    public init(arrayLiteral elements: Connection...) {
        self.init(elements)
    }

    /// The position of the first connection: always 0.
    @inlinable public var startIndex: Int { 0 }
    /// One past the position of the last connection: the count.
    @inlinable public var endIndex: Int { total }
    /// How many connections there are.
    @inlinable public var count: Int { total }

    /// The positions whose connections may differ from `earlier`'s: those of every chunk the two no longer share.
    /// Nil when the counts differ.
    ///
    /// Chunks are copied on write, so a chunk both lists still share holds the very same connections: after a
    /// refresh, only its one chunk is looked at. The caller must keep `earlier` alive from the moment it took it, so
    /// that no chunk of it was freed and its memory reused by this list.
    public func positionsChanged(since earlier: ConnectionList) -> [Range<Int>]? {
        guard earlier.total == total else { return nil }
        var ranges: [Range<Int>] = []
        for index in chunks.indices {
            let shared = chunks[index].withUnsafeBufferPointer { mine in
                earlier.chunks[index].withUnsafeBufferPointer { theirs in mine.baseAddress == theirs.baseAddress }
            }
            guard !shared else { continue }
            let start = index << Self.chunkShift
            ranges.append(start..<start + chunks[index].count)
        }
        return ranges
    }

    /// The connection at `position`.
    ///
    /// Inlinable, and read in place (`_read`), so that reading one field of a connection from another module does
    /// not copy the whole connection: that copy retained every string in it and dominated loops over 100,000.
    @inlinable public subscript(position: Int) -> Connection {
        _read {
            precondition(position >= 0 && position < total, "ConnectionList index out of range")
            yield chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
        _modify {
            precondition(position >= 0 && position < total, "ConnectionList index out of range")
            yield &chunks[position >> Self.chunkShift][position & Self.chunkMask]
        }
    }

    /// The connections of `elements` in the order `order` gives their positions, moved rather than copied: at
    /// 100,000 connections each copy retained and released every string in every connection.
    init(moving elements: consuming [Connection], order: [Int]) {
        let count = elements.count
        precondition(order.count == count, "ConnectionList order does not cover the elements")
        // What each moved-out slot holds until `elements` goes: nothing in it is counted by reference.
        let vacated = Connection(
            id: "", integrationID: "", scope: .user, subject: "", credential: .apiKey, grant: .none,
            createdAt: Date(timeIntervalSince1970: 0))
        elements.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            // Into `order` in place, by the buffer's swaps (which move), following each cycle once.
            var placed = [Bool](repeating: false, count: count)
            for start in 0..<count where !placed[start] {
                var target = start
                placed[target] = true
                while order[target] != start {
                    let source = order[target]
                    buffer.swapAt(target, source)
                    target = source
                    placed[target] = true
                }
            }
            var start = 0
            while start < count {
                let size = Swift.min(Self.chunkSize, count - start)
                chunks.append(
                    [Connection](unsafeUninitializedCapacity: Self.chunkSize) { chunk, initialized in
                        chunk.baseAddress!.moveInitialize(from: base + start, count: size)
                        (base + start).initialize(repeating: vacated, count: size)
                        initialized = size
                    })
                start += size
            }
        }
        total = count
    }

    /// Adds `connection` at the end; copies at most the last chunk.
    public mutating func append(_ connection: consuming Connection) {
        if total & Self.chunkMask == 0 {
            var chunk: [Connection] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunk.append(connection)
            chunks.append(chunk)
        } else {
            chunks[chunks.count - 1].append(connection)
        }
        total += 1
    }

    /// Inserts `connection` at `position`, which rebuilds the chunks.
    public mutating func insert(_ connection: Connection, at position: Int) {
        var all = Array(self)
        all.insert(connection, at: position)
        self = ConnectionList(all)
    }

    /// Removes every connection that `shouldBeRemoved` picks, which rebuilds the chunks.
    public mutating func removeAll(where shouldBeRemoved: (Connection) throws -> Bool) rethrows {
        self = ConnectionList(try filter { !(try shouldBeRemoved($0)) })
    }

    /// Whether both hold equal connections in the same order.
    public static func == (lhs: ConnectionList, rhs: ConnectionList) -> Bool {
        lhs.total == rhs.total && lhs.elementsEqual(rhs)
    }
}
