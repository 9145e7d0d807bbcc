import Dispatch
import Foundation
import Synchronization

extension Store {
    /// How many connections an SQLite file holds before loading them reads with two connections at once.
    static let twoReadersFrom = 20_000

    /// Every connection of an SQLite file and their positions in list order (``ListOrder``), read by two SQLite
    /// connections at once: this one and a second one, opened for this on a thread of its own, each take the next of
    /// 16 ranges of row ids until none is left, and then sort what they read; the two sorted lists are merged.
    ///
    /// Decoding rows is most of a cold start's cost at 100,000 connections (about 300 ms of 440), and nothing else
    /// runs yet, so the second core halves it. Ranges taken in turn keep both cores busy to the end: with one half
    /// each, one reader finished 50-70 ms before the other. The ranges are separate reads, not one: a write
    /// committed between them may show in one and not another, as one committed just after a single read would; the
    /// change feed brings it either way.
    /// - Returns: nil when the second connection cannot be opened, the row ids cannot be split, or the two readers'
    ///   snapshots disagree; the caller then reads alone.
    func connectionsByTwoReaders(
        _ database: SQLiteDatabase, count: Int
    ) throws -> ([Connection], [Int], [UnreadableConnection])? {
        let bounds = try database.query("SELECT min(rowid), max(rowid) FROM connections") {
            ($0.int(0), $0.int(1))
        }.first
        // Row ids a hand edit spread across the whole 64-bit range (or that Double cannot split) are read alone.
        guard let (low, high) = bounds, high > low, low > Int.min,
            case let (span, false) = high.subtractingReportingOverflow(low), span < 1 << 52,
            let reader = try? SQLiteDatabase(path: database.path, create: false)
        else { return nil }
        let ranges = Self.readerRanges
        // Range i holds the row ids after edges[i] up to edges[i + 1]; the last has no end, as a single read has none.
        let edges = (0...ranges).map { low - 1 + Int((Double(span + 1) * Double($0) / Double(ranges)).rounded()) }
        let select = "SELECT \(Self.connectionColumns) FROM connections WHERE rowid > ?"
        let second = SecondReader(reader: reader)
        // Each reader reads in one snapshot of its own, and counts the rows there.
        @Sendable func read(_ database: SQLiteDatabase, capacity: Int) throws -> Half {
            try database.snapshot {
                let total = try database.query("SELECT count(*) FROM connections") { $0.int(0) }.first ?? 0
                var cache = RowCache()
                var rows: [Connection] = []
                rows.reserveCapacity(capacity)
                var unreadable: [UnreadableConnection] = []
                while case let range = second.nextRange.add(1, ordering: .relaxed).oldValue, range < ranges {
                    let last = range == ranges - 1
                    let values = last ? [edges[range]] : [edges[range], edges[range + 1]]
                    _ = try database.query(last ? select : select + " AND rowid <= ?", values, capacity: 0) {
                        self.take($0, into: &rows, unreadable: &unreadable, cache: &cache)
                    }
                }
                return Half(rows: rows, order: ListOrder(rows), unreadable: unreadable, total: total)
            }
        }
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            second.rows = Result { try read(second.reader, capacity: count / 2 + 1_024) }
            done.signal()
        }
        let first = Result { try read(database, capacity: count / 2 + 1_024) }
        // The thread uses this store's decoder and the second connection: it ends before either can go.
        done.wait()
        var one = try first.get()
        let other = try second.rows?.get() ?? Half(rows: [], order: ListOrder([]), unreadable: [], total: -1)
        // The two snapshots may differ: a row whose row id changed between them (a connection deleted and imported
        // again) was read twice, or not at all. Both snapshots must count as many rows as were read, with no id
        // twice; else one reader reads them all in one snapshot.
        let read = one.rows.count + other.rows.count + one.unreadable.count + other.unreadable.count
        guard one.total == other.total, read == one.total,
            let order = ListOrder.merged(one.order, other.order, offset: one.rows.count)
        else { return nil }
        one.rows += other.rows
        return (one.rows, order, one.unreadable + other.unreadable)
    }

    /// What one reader read: the rows, their order, those it could not read, and how many rows its snapshot held.
    private struct Half: Sendable {
        var rows: [Connection]
        var order: ListOrder
        var unreadable: [UnreadableConnection]
        var total: Int
    }

    /// How many ranges of row ids the two readers take in turn.
    private static let readerRanges = 16

    /// The second reader and what it read, handed to its thread and back; and the ranges both take.
    private final class SecondReader: @unchecked Sendable {
        // @unchecked Sendable: the thread alone uses `reader` and `rows` until it signals, and the caller reads them
        // only after; `nextRange` is atomic.
        let reader: SQLiteDatabase
        /// The next range of row ids either reader takes.
        let nextRange = Atomic<Int>(0)
        var rows: Result<Half, any Error>?
        init(reader: SQLiteDatabase) { self.reader = reader }
    }
}
