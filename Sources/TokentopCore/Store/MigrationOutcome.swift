/// What `tokentop migrate` did to a store's schema.
public struct MigrationOutcome: Sendable, Equatable, CustomStringConvertible {
    /// The store, as messages name it.
    public var location: String
    /// The schema version before, 0 for a store without tables.
    public var from: Int
    /// The schema version now.
    public var to: Int

    public var description: String {
        from == to
            ? "\(location): schema already at version \(to); nothing to do"
            : "\(location): schema migrated from version \(from) to \(to)"
    }
}

extension Store {
    /// Brings the schema of the store at `path` up to this tokentop's, each migration in its own transaction.
    ///
    /// It needs no key: migrations move no secret. Two processes migrating at once take turns (SQLite's write lock,
    /// PostgreSQL's advisory lock), and the second finds nothing left to do.
    /// - Parameter createDirectory: whether a missing directory of a new SQLite store is created (the default
    ///   location), or named as missing (a path the user gave).
    public static func migrate(path: String, createDirectory: Bool = true) throws -> MigrationOutcome {
        try retryingImmediateBusy(path) {
            let database = try openDatabase(path, create: true, createDirectory: createDirectory)
            // What this process applied, not what it saw before: another one may have migrated meanwhile.
            let applied = try Schema.migrate(database)
            let now = try database.schemaVersion()
            return MigrationOutcome(location: database.location, from: applied.first.map { $0 - 1 } ?? now, to: now)
        }
    }
}
