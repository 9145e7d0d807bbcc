/// The store's tables, as an ordered list of migrations keyed by the schema version (SQLite's `PRAGMA
/// user_version`, a one-row table in PostgreSQL).
///
/// The migrations a database lacks run in one transaction together with the version bump, so a crash leaves the
/// database at either the old or the new version. Migrations are only ever appended; an applied one is never
/// edited. They are written once, in SQLite's types; ``statement(_:for:)`` spells them for PostgreSQL.
enum Schema {
    struct Migration {
        let version: Int
        let statements: [String]
        /// Statements only SQLite runs; PostgreSQL takes the version without them.
        var sqliteOnly: [String] = []

        /// What this migration runs on `dialect`'s engine, in its types.
        func statements(for dialect: SQLDialect) -> [String] {
            (statements + (dialect.isPostgres ? [] : sqliteOnly)).map { Schema.statement($0, for: dialect) }
        }
    }

    static let migrations: [Migration] = [
        Migration(
            version: 1,
            statements: [
                """
                CREATE TABLE integrations (
                    id TEXT PRIMARY KEY NOT NULL,
                    provider TEXT NOT NULL,
                    token_url TEXT NOT NULL,
                    revocation_url TEXT,
                    client_id TEXT NOT NULL,
                    client_auth TEXT NOT NULL,
                    scopes TEXT NOT NULL DEFAULT '[]',
                    redirect_uri TEXT,
                    client_secret BLOB,
                    secret_fingerprint TEXT
                )
                """,
                """
                CREATE TABLE connections (
                    id TEXT PRIMARY KEY NOT NULL,
                    integration_id TEXT NOT NULL REFERENCES integrations(id),
                    scope TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    credential TEXT NOT NULL,
                    grant_kind TEXT NOT NULL,
                    granted_scopes TEXT NOT NULL DEFAULT '[]',
                    access_token BLOB,
                    refresh_token BLOB,
                    access_fingerprint TEXT,
                    refresh_fingerprint TEXT,
                    issued_at REAL,
                    expires_at REAL,
                    last_refresh_at REAL,
                    failures INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT,
                    retry_at REAL,
                    reauth_reason TEXT,
                    revoked_at REAL,
                    revoked_at_provider INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL
                )
                """,
                "CREATE INDEX connections_by_integration ON connections(integration_id)",
                """
                CREATE TABLE history (
                    id INTEGER PRIMARY KEY,
                    at REAL NOT NULL,
                    connection_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    message TEXT NOT NULL,
                    error TEXT
                )
                """,
                "CREATE INDEX history_by_connection ON history(connection_id, at)",
                "CREATE INDEX history_by_time ON history(at)",
                // Holds the key check: a value sealed with the key, so a wrong key is caught before anything is
                // written.
                "CREATE TABLE meta (name TEXT PRIMARY KEY NOT NULL, value BLOB)",
            ]),
        Migration(
            version: 2,
            statements: [
                // Operators' actions, append-only; each row carries the hash of the one before it (a hash chain).
                """
                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    at REAL NOT NULL,
                    os_user TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    previous_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """
            ]),
        Migration(
            version: 3,
            statements: [
                // One refresher at a time across processes: a lease (owner, expiry) and a generation that every
                // write bumps, so a refresher whose lease was taken over cannot overwrite the winner's tokens.
                "ALTER TABLE connections ADD COLUMN lease_owner TEXT",
                "ALTER TABLE connections ADD COLUMN lease_until REAL",
                "ALTER TABLE connections ADD COLUMN generation INTEGER NOT NULL DEFAULT 0",
                // Increases with every write, so other processes can read just what changed.
                "ALTER TABLE connections ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0",
                "CREATE INDEX connections_by_change ON connections(change_seq)",
            ]),
        Migration(
            version: 4,
            statements: [
                // Whether client_secret holds a client secret or a PEM private key that signs assertions.
                "ALTER TABLE integrations ADD COLUMN secret_kind TEXT NOT NULL DEFAULT 'client_secret'"
            ]),
        Migration(
            version: 5,
            statements: [
                // Refreshers that are running (a heartbeat a second), so that rekey can refuse to pull the key
                // from under them.
                "CREATE TABLE processes (owner TEXT PRIMARY KEY NOT NULL, last_seen REAL NOT NULL)"
            ]),
        Migration(
            version: 6,
            statements: [
                // The identity models' own facts: where a user signs in again, how a static key travels and is
                // checked, which grant a derived token hangs from, and who shares a workspace's credential.
                "ALTER TABLE integrations ADD COLUMN authorization_url TEXT",
                "ALTER TABLE integrations ADD COLUMN device_authorization_url TEXT",
                "ALTER TABLE integrations ADD COLUMN api_key_in TEXT",
                "ALTER TABLE integrations ADD COLUMN api_key_name TEXT",
                "ALTER TABLE integrations ADD COLUMN probe_url TEXT",
                "ALTER TABLE integrations ADD COLUMN probe_interval REAL",
                "ALTER TABLE connections ADD COLUMN parent_id TEXT",
                "ALTER TABLE connections ADD COLUMN workspace TEXT",
                "ALTER TABLE connections ADD COLUMN members TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE connections ADD COLUMN secret_set_at REAL",
                "ALTER TABLE connections ADD COLUMN probe_at REAL",
                "ALTER TABLE connections ADD COLUMN probe_ok INTEGER",
                "ALTER TABLE connections ADD COLUMN probe_detail TEXT",
                "CREATE INDEX connections_by_parent ON connections(parent_id) WHERE parent_id IS NOT NULL",
            ]),
        Migration(
            version: 7,
            statements: [
                // Which services a token exchange (RFC 8693) asks a token for: JSON lists, like scopes.
                "ALTER TABLE integrations ADD COLUMN audiences TEXT NOT NULL DEFAULT '[]'",
                "ALTER TABLE integrations ADD COLUMN resources TEXT NOT NULL DEFAULT '[]'",
            ]),
        Migration(
            version: 8,
            statements: [
                // When each connection is next due, by the policy of the process that last wrote it: refreshers
                // sharing a store claim due work through this index instead of each scanning the whole table.
                "ALTER TABLE connections ADD COLUMN due_at REAL",
                "CREATE INDEX connections_by_due ON connections(due_at) WHERE due_at IS NOT NULL",
            ]),
        Migration(
            version: 9,
            statements: [
                // Who holds leases: refreshers look for owners that died on their host without a full scan.
                "CREATE INDEX connections_by_lease ON connections(lease_owner) WHERE lease_owner IS NOT NULL"
            ]),
        Migration(
            version: 10,
            statements: [
                // Whether expires_at is tokentop's assumption (the answer gave no expiry), so that it is shown as
                // one rather than as a countdown the provider promised.
                "ALTER TABLE connections ADD COLUMN expiry_assumed INTEGER NOT NULL DEFAULT 0"
            ]),
        Migration(
            version: 11, statements: [],
            sqliteOnly: [
                // An SQLite file has one refresher's queue per process and nobody claims through the due index, yet
                // every refresh moved its entry: a third of the write-ahead log a refresh storm wrote (403 → 284 MB
                // for 20,000 refreshes at N = 100,000). Refreshers sharing a PostgreSQL store keep it.
                "DROP INDEX IF EXISTS connections_by_due"
            ]),
        Migration(
            version: 12,
            statements: [
                // One row per deleted connection, numbered in the change feed: followers (a dashboard, a daemon)
                // learn that it is gone, and change numbers keep rising when the newest changed row is deleted.
                """
                CREATE TABLE deleted_connections (
                    change_seq INTEGER NOT NULL PRIMARY KEY,
                    id TEXT NOT NULL,
                    at REAL NOT NULL
                )
                """
            ]),
        Migration(
            version: 13,
            statements: [
                // The fingerprints of the tokens a connection was last imported with: an import file run again
                // after tokentop renewed them (a rotated refresh token) is told from one that brings new tokens.
                "ALTER TABLE connections ADD COLUMN imported_access_fingerprint TEXT",
                "ALTER TABLE connections ADD COLUMN imported_refresh_fingerprint TEXT",
            ]),
        Migration(
            version: 14,
            statements: [
                // What made a deleted connection's tokens dead (revoked, or refused by the provider) and their
                // fingerprints: the same file imported again after `delete` is refused as it was while the
                // connection was there, rather than bringing a dead token back as healthy.
                "ALTER TABLE deleted_connections ADD COLUMN revoked_at REAL",
                "ALTER TABLE deleted_connections ADD COLUMN revoked_at_provider INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE deleted_connections ADD COLUMN reauth_reason TEXT",
                "ALTER TABLE deleted_connections ADD COLUMN access_fingerprint TEXT",
                "ALTER TABLE deleted_connections ADD COLUMN refresh_fingerprint TEXT",
                "ALTER TABLE deleted_connections ADD COLUMN imported_access_fingerprint TEXT",
                "ALTER TABLE deleted_connections ADD COLUMN imported_refresh_fingerprint TEXT",
                "CREATE INDEX deleted_connections_dead ON deleted_connections(id) "
                    + "WHERE revoked_at IS NOT NULL OR reauth_reason IS NOT NULL",
            ]),
    ]

    /// The newest schema version this binary knows.
    static var latest: Int { migrations.last?.version ?? 0 }

    /// Refuses a database whose schema is newer than this binary's, before anything is written to it.
    static func checkCompatible(_ database: any SQLDatabase) throws {
        let version = try database.schemaVersion()
        guard version <= latest else { throw newer(version, path: database.location) }
        if version == 0 {
            // Another program's database: never add our tables to it.
            let tables = try database.foreignTables()
            // Another tokentop may have committed the first migration between the two reads: then they are ours.
            guard try tables.isEmpty || database.schemaVersion() > 0 else {
                let named = tables.prefix(3).joined(separator: ", ") + (tables.count > 3 ? ", …" : "")
                let which = database.dialect.isPostgres ? "PostgreSQL database" : "SQLite database"
                let other =
                    database.dialect.isPostgres ? "name another database with --store" : "name another file with --db"
                throw StoreError(
                    .notADatabase,
                    "\(database.location) is another program's \(which) (it holds \(named)), not tokentop's; "
                        + "\(other); nothing was changed", path: database.location)
            }
        }
    }

    /// Applies every migration the database lacks, all in one transaction with the version bump.
    ///
    /// One transaction, not one each: a new store takes its whole schema with one commit, where fourteen commits,
    /// each waiting for the disk, kept other processes opening the same new store waiting for seconds on a busy disk.
    /// A crash still leaves the database at the old version or the new one.
    ///
    /// - Returns: the versions applied, oldest first; empty when the database was up to date.
    @discardableResult
    static func migrate(_ database: any SQLDatabase) throws -> [Int] {
        // Checked first so that an up-to-date database (perhaps a read-only one) is not even locked for writing.
        guard try database.schemaVersion() < latest else { return [] }
        var applied: [Int] = []
        try database.migrationTransaction {
            // Read again under the lock: another process may have migrated since we looked.
            let current = try database.schemaVersion()
            guard current <= latest else { throw newer(current, path: database.location) }
            for migration in migrations where migration.version > current {
                for text in migration.statements(for: database.dialect) { try database.execute(text) }
                applied.append(migration.version)
            }
            if let last = applied.last { try database.setSchemaVersion(last) }
        }
        return applied
    }

    /// A migration statement in the engine's types: PostgreSQL has no REAL of 8 bytes, no BLOB, and numbers rows
    /// with an identity column rather than SQLite's INTEGER PRIMARY KEY.
    static func statement(_ text: String, for dialect: SQLDialect) -> String {
        guard dialect.isPostgres else { return text }
        return text
            .replacingOccurrences(
                of: "INTEGER PRIMARY KEY,", with: "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,")
            .replacingOccurrences(of: #"\bINTEGER\b"#, with: "BIGINT", options: .regularExpression)
            .replacingOccurrences(of: #"\bREAL\b"#, with: "DOUBLE PRECISION", options: .regularExpression)
            .replacingOccurrences(of: #"\bBLOB\b"#, with: "BYTEA", options: .regularExpression)
    }

    private static func newer(_ version: Int, path: String) -> StoreError {
        let other = path.contains("://") ? "another database with --store" : "another file with --db"
        return StoreError(
            .newerSchema,
            "the database \(path) was written by a newer tokentop (schema version \(version); this tokentop knows "
                + "up to \(latest)); upgrade tokentop, or choose \(other); nothing was changed",
            path: path)
    }
}
