import Dispatch
import Foundation

extension Store {
    /// How many connections an SQLite file holds before loading them reads with two connections at once.
    static let twoReadersFrom = 20_000

    /// Every connection of an SQLite file, unordered, read by two SQLite connections at once: this one reads the
    /// lower half of the row ids, and a second one, opened for this on a thread of its own, the upper half.
    ///
    /// Decoding rows is most of a cold start's cost at 100,000 connections (about 300 ms of 440), and nothing else
    /// runs yet, so the second core halves it. The halves are two reads, not one: a write committed between them
    /// may show in one half and not the other, as one committed just after a single read would; the change feed
    /// brings it either way.
    /// - Returns: nil when the second connection cannot be opened or the row ids cannot be split; the caller then
    ///   reads alone.
    func connectionsByTwoReaders(_ database: SQLiteDatabase, count: Int) throws -> [Connection]? {
        let bounds = try database.query("SELECT min(rowid), max(rowid) FROM connections") {
            ($0.int(0), $0.int(1))
        }.first
        guard let (low, high) = bounds, high > low,
            let reader = try? SQLiteDatabase(path: database.path, create: false)
        else { return nil }
        let middle = low + (high - low) / 2
        let select = "SELECT \(Self.connectionColumns) FROM connections WHERE rowid "
        let upper = UpperHalf(reader: reader)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            var cache = RowCache()
            upper.rows = Result {
                try upper.reader.query(select + "> ?", [middle], capacity: count / 2 + 1_024) {
                    try connection(from: $0, cache: &cache)
                }
            }
            done.signal()
        }
        var cache = RowCache()
        let lower = Result {
            try database.query(select + "<= ?", [middle], capacity: count) { try connection(from: $0, cache: &cache) }
        }
        // The thread uses this store's decoder and the second connection: it ends before either can go.
        done.wait()
        var rows = try lower.get()
        rows += try upper.rows?.get() ?? []
        return rows
    }

    /// The second reader and what it read, handed to its thread and back.
    private final class UpperHalf: @unchecked Sendable {
        // @unchecked Sendable: the thread alone uses it until it signals, and the caller reads it only after.
        let reader: SQLiteDatabase
        var rows: Result<[Connection], any Error>?
        init(reader: SQLiteDatabase) { self.reader = reader }
    }
}
