import Foundation

/// What the ``Store`` needs of a database engine: statements, transactions and a schema version.
///
/// ``SQLiteDatabase`` (one file, the embedded default) and ``PostgresDatabase`` (a shared server) implement it.
/// The store's SQL is written once, with `?` placeholders; an engine translates what it must. Neither is
/// thread-safe: one owner (the store, under its lock) uses it.
protocol SQLDatabase: AnyObject {
    /// Where the data lives, safe to show: a file path, or a PostgreSQL URL without its password.
    var location: String { get }
    /// The engine's spelling of the few statements that differ.
    var dialect: SQLDialect { get }
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { get }

    /// Runs one statement to completion.
    func execute(_ sql: String, _ values: [any SQLBindable]) throws
    /// Runs one statement and maps each result row through `row`.
    /// - Parameter capacity: how many rows to make room for at once, when the caller knows (large reads).
    func query<T>(
        _ sql: String, _ values: [any SQLBindable], capacity: Int, row: (SQLRow) throws -> T
    ) throws -> [T]
    /// Runs one query and hands each result row to `row` as it is read, keeping none: for reading whole tables (an
    /// export of 100,000 connections) without holding them. Inside a transaction only: PostgreSQL hands the rows
    /// over through a cursor, a block at a time, rather than the whole result at once.
    func forEachRow(_ sql: String, _ row: (SQLRow) throws -> Void) throws
    /// Runs `body` in one write transaction: committed when it returns, rolled back when it throws. Write
    /// transactions never overlap, in this process or another: each engine serialises them.
    ///
    /// - Parameter durable: whether the commit waits for the disk; false when losing it to a power cut loses
    ///   nothing that cannot be done again.
    func transaction<T>(durable: Bool, _ body: () throws -> T) throws -> T
    /// Runs `body` in one transaction that only locks the rows it selects with ``SQLDialect/skipLocked``, so that
    /// refreshers claiming work never wait for each other or for writers; it does not wait for the disk. On
    /// SQLite, whose write lock covers the whole file, it is an ordinary write transaction.
    func claimTransaction<T>(_ body: () throws -> T) throws -> T
    /// Runs `body`, which only reads, in one transaction that sees a single moment of the database while others
    /// go on writing (an export reads every table at once without holding up the refreshers).
    func snapshot<T>(_ body: () throws -> T) throws -> T
    /// Tells the processes that follow this database that something changed, once the change commits; nothing on
    /// an engine whose followers poll (SQLite).
    func announceChange() throws
    /// Runs `body`, whose statements commit on their own, without waiting for the disk.
    func withoutWaitingForDisk<T>(_ body: () throws -> T) throws -> T

    /// The schema version this database was migrated to; 0 for a database tokentop never wrote.
    func schemaVersion() throws -> Int
    /// Records the schema version, inside a migration's transaction.
    func setSchemaVersion(_ version: Int) throws
    /// The names of `table`'s columns, in the order they were created.
    func columns(of table: String) throws -> [String]
    /// Tables in the database that are not tokentop's bookkeeping, to refuse another program's database.
    func foreignTables() throws -> [String]
    /// Runs `body` in one transaction that no other process's migration overlaps.
    func migrationTransaction(_ body: () throws -> Void) throws
}

extension SQLDatabase {
    func execute(_ sql: String) throws { try execute(sql, []) }

    func query<T>(_ sql: String, _ values: [any SQLBindable] = [], row: (SQLRow) throws -> T) throws -> [T] {
        try query(sql, values, capacity: 0, row: row)
    }

    func query<T>(_ sql: String, capacity: Int, row: (SQLRow) throws -> T) throws -> [T] {
        try query(sql, [], capacity: capacity, row: row)
    }

    func transaction<T>(_ body: () throws -> T) throws -> T { try transaction(durable: true, body) }
}

/// The few places where the engines' SQL differs.
struct SQLDialect: Sendable {
    /// Appended to a SELECT that reads a row in order to write it: PostgreSQL must lock the row, while SQLite's
    /// write transaction already holds the whole file.
    let lockRows: String
    /// Appended to a SELECT that claims rows, so that two claimers pass over each other's rows instead of waiting.
    let skipLocked: String
    /// Whether this is PostgreSQL, for the schema's types and for messages.
    let isPostgres: Bool

    static let sqlite = SQLDialect(lockRows: "", skipLocked: "", isPostgres: false)
    static let postgres = SQLDialect(lockRows: " FOR UPDATE", skipLocked: " FOR UPDATE SKIP LOCKED", isPostgres: true)
}
