import Foundation

extension Store {
    /// Runs `body` on one snapshot of the store, under its lock, so that the audit chain, its anchor and the rows
    /// it reads agree; every sealed value is opened first (see ``checkSealed()``).
    /// - Throws: ``StoreError`` for the store and a sealed value that does not open, and what `body` throws.
    func withExportSnapshot<T>(_ body: (ExportSnapshot) throws -> T) throws -> T {
        try locked {
            try database.snapshot {
                let keyCheck =
                    try database.query("SELECT value FROM meta WHERE name = 'key_check'") { $0.blob(0) }.first ?? nil
                guard let keyCheck else {
                    throw StoreError(.notADatabase, "\(path) has no key check; it is not a tokentop store", path: path)
                }
                try checkSealed()
                try checkReadable()
                return try body(
                    ExportSnapshot(
                        database: database, schema: try database.schemaVersion(), source: path, keyCheck: keyCheck))
            }
        }
    }

    /// Restores an export into this store, which must hold no integrations, connections or history yet, in one
    /// transaction that also records the import in the audit log.
    ///
    /// Rows keep their ids, history numbers, change numbers and audit hashes; sealed values are copied as they are
    /// and each is opened once in its new place, so a value altered or moved to another row is refused. Audit
    /// entries the store already held (a failed attempt, say) follow the imported ones, renumbered.
    /// - Throws: ``ImportError`` for a row the store refuses, ``StoreError`` for the key and the database; on any
    ///   error nothing is written.
    func restore(_ dump: StoreDump, user: String, at now: Date) throws -> ExportSummary {
        let file = dump.file
        return try locked {
            try database.transaction {
                try checkKeyUnchanged()
                do {
                    _ = try secrets.open(dump.keyCheck, context: "meta/key_check")
                } catch {
                    // A key file made just now for this new store: there was none (it stays, see `NewStoreFiles`).
                    let uses =
                        secrets.createdKeyFile.map {
                            "had no key (\(SecretBox.keyVariable) is unset, and the key file at \($0) was made just "
                                + "now)"
                        } ?? "uses \(secrets.keySource)"
                    throw StoreError(
                        .cannotDecrypt,
                        "\(file): the export was sealed with another key; use the same TOKENTOP_KEY or key file as "
                            + "the source (\(dump.source)); this tokentop \(uses); nothing was written", path: path)
                }
                try requireEmpty(file)
                let earlier = try readAuditLog()
                if !earlier.isEmpty {
                    guard try checkAudit().isIntact else {
                        throw StoreError(
                            .notADatabase,
                            "the audit log of \(path) is broken (`tokentop audit --verify` says where), so the import "
                                + "cannot carry it over; nothing was written", path: path)
                    }
                    try database.execute("DELETE FROM audit")
                }
                // The export brings its own anchor, or none for an empty log.
                try database.execute("DELETE FROM meta WHERE name = 'audit_anchor'")
                for (table, _, _) in StoreDump.tables { try insert(table, of: dump) }
                if database.dialect.isPostgres {
                    // Rows came with their numbers, so the identity must move past them for the next entry.
                    try database.execute(
                        "SELECT setval(pg_get_serial_sequence('history', 'id'), "
                            + "(SELECT COALESCE(MAX(id), 0) FROM history) + 1, false)")
                }
                try checkRestored(file)
                for entry in earlier {
                    try insertAudit(
                        action: entry.action, target: entry.target, outcome: entry.outcome, detail: entry.detail,
                        user: entry.user, at: entry.at)
                }
                let summary = dump.summary
                try insertAudit(
                    action: .import, target: file, outcome: "ok",
                    detail: "whole store exported from \(dump.source) at \(dump.exportedAt): \(summary)", user: user,
                    at: now)
                try announceChange()
                return summary
            }
        }
    }

    /// The tables a store holds its credentials and their history in, each with what its rows are: a new store has
    /// no row in any of them.
    static let contentTables = [
        ("connections", "connections"), ("integrations", "integrations"), ("history", "history entries"),
        ("deleted_connections", "rows of deleted connections"),
    ]

    /// Whether the store holds no row in ``contentTables``, as a new one does: only its key check and audit log.
    func holdsNothing() throws -> Bool {
        try locked { try holdsNoRows() }
    }

    /// ``holdsNothing()`` for a caller that holds the lock. A connection deleted since leaves its row in
    /// `deleted_connections`: a store that held anything is never taken for a new one.
    func holdsNoRows() throws -> Bool {
        try Self.contentTables.allSatisfy { table, _ in
            try database.query("SELECT count(*) FROM \(table)") { $0.int(0) }.first == 0
        }
    }

    /// Refuses a store that already holds anything an export would collide with or silently merge into.
    private func requireEmpty(_ file: String) throws {
        for (table, rows) in Self.contentTables {
            let count = try database.query("SELECT count(*) FROM \(table)") { $0.int(0) }.first ?? 0
            guard count == 0 else {
                throw ImportError(
                    file: file,
                    problem: "\(path) already holds \(count) \(rows); an "
                        + "export is imported only into a new, empty store (a new file with --db, or a new "
                        + "PostgreSQL database made with createdb); nothing was written")
            }
        }
    }

    /// Inserts one table's rows as the document gives them, each column checked against the table's own.
    private func insert(_ table: String, of dump: StoreDump) throws {
        let known = Set(try database.columns(of: table))
        try dump.forEachRow(of: table) { index, row in
            let kept = row.filter { !StoreDump.leaseColumns.contains($0.column) }
            if let unknown = kept.first(where: { !known.contains($0.column) }) {
                throw ImportError(
                    file: dump.file, entry: "tables.\(table)[\(index)]", field: unknown.column,
                    problem: "no such column in \(table) (schema version \(Schema.latest))")
            }
            if table == "meta", kept.contains(where: { $0.column == "name" && $0.value == .text("key_check") }) {
                return
            }
            let columns = kept.map(\.column).joined(separator: ", ")
            let marks = kept.map { _ in "?" }.joined(separator: ", ")
            // The store wrote its own key check (and perhaps an anchor) when it was opened.
            let upsert = table == "meta" ? " ON CONFLICT(name) DO UPDATE SET value = excluded.value" : ""
            do {
                try database.execute("INSERT INTO \(table) (\(columns)) VALUES (\(marks))\(upsert)", kept.map(\.value))
            } catch let error as StoreError {
                throw ImportError(file: dump.file, entry: "tables.\(table)[\(index)]", problem: error.message)
            }
        }
    }

    /// Where sealed values live, and the context each is sealed for (its row's id binds it to its place).
    static let sealedPlaces: [(table: String, column: String, context: @Sendable (String) -> String)] = [
        ("integrations", "client_secret", Store.clientSecretContext),
        ("connections", "access_token", Store.accessTokenContext),
        ("connections", "refresh_token", Store.refreshTokenContext),
    ]

    /// Opens every sealed value of the store in its place, a row at a time: an export holding one that does not open
    /// could never be restored, and would be found out only when it is needed. Runs inside the export's snapshot,
    /// before anything is written.
    /// - Throws: ``StoreError`` naming each row whose value does not open, and what to do.
    private func checkSealed() throws {
        var damaged: [String] = []
        for (table, column, context) in Self.sealedPlaces {
            try database.forEachRow("SELECT id, \(column) FROM \(table) WHERE \(column) IS NOT NULL ORDER BY id") {
                guard let value = $0.blob(1), let id = $0.string(0) else { return }
                if (try? secrets.open(value, context: context(id))) == nil {
                    damaged.append("\(table) \(id) \(column)")
                }
            }
        }
        guard !damaged.isEmpty else { return }
        let more = damaged.count > 5 ? ", and \(damaged.count - 5) more" : ""
        let count = damaged.count == 1 ? "1 sealed value does" : "\(damaged.count) sealed values do"
        throw StoreError(
            .cannotDecrypt,
            "cannot export \(Store.displayName(path)): \(count) not open under this key "
                + "(\(damaged.prefix(5).joined(separator: ", "))\(more)): altered in the database, and an export "
                + "holding them could never be restored; import those credentials again (or revoke them) first; "
                + "nothing was written", path: path)
    }

    /// Reads every connection and history entry as tokentop reads them, inside the export's snapshot: an export
    /// holding a row that cannot be read (``UnreadableConnection``) was written without a word and then refused at
    /// its restore, when the backup was needed.
    /// - Throws: ``StoreError`` naming the first such row, and what to do; nothing is written.
    private func checkReadable() throws {
        var cache = RowCache()
        var connections: [Connection] = []
        var unreadable: [UnreadableConnection] = []
        try database.forEachRow("SELECT \(Self.connectionColumns) FROM connections") {
            take($0, into: &connections, unreadable: &unreadable, cache: &cache)
            connections.removeAll(keepingCapacity: true)
        }
        var history: [String] = []
        try database.forEachRow("SELECT \(Self.historyColumns) FROM history") {
            _ = readableHistoryEntry(from: $0, problems: &history)
        }
        let problems = unreadable.map(\.problem) + history
        guard let first = problems.first else { return }
        // Each problem names its row and its remedy (a connection is imported again, a history entry deleted).
        let more = problems.count > 1 ? " (and \(problems.count - 1) more rows that cannot be read)" : ""
        throw StoreError(
            .notADatabase,
            "cannot export \(Store.displayName(path)): \(first)\(more); an export holding such rows could never be "
                + "restored: repair them first; nothing was written", path: path)
    }

    /// Reads back what was restored as tokentop reads it, opens every sealed value in its place, and checks the
    /// audit chain, so that a damaged or edited export fails here rather than on some later refresh.
    private func checkRestored(_ file: String) throws {
        func refuse(_ entry: String, _ problem: String) -> ImportError {
            ImportError(file: file, entry: entry, problem: problem)
        }
        // A row at a time: the restored store is read, not kept.
        try database.forEachRow("SELECT \(Self.integrationColumns) FROM integrations") { _ = try integration(from: $0) }
        var cache = RowCache()
        try database.forEachRow("SELECT \(Self.connectionColumns) FROM connections") {
            _ = try connection(from: $0, cache: &cache)
        }
        try database.forEachRow("SELECT \(Self.historyColumns) FROM history") { _ = try historyEntry(from: $0) }
        // A token's fingerprint is what `list` and `show` say is stored: one edited in the export would name another.
        let fingerprints = ["access_token": "access_fingerprint", "refresh_token": "refresh_fingerprint"]
        for (table, column, context) in Self.sealedPlaces {
            let fingerprint = fingerprints[column]
            try database.forEachRow(
                "SELECT id, \(column), \(fingerprint ?? "NULL") FROM \(table) WHERE \(column) IS NOT NULL"
            ) { row in
                let (id, value, stated) = (row.string(0) ?? "", row.blob(1) ?? [], row.string(2))
                let opened: Secret
                do {
                    opened = try secrets.open(value, context: context(id))
                } catch {
                    throw refuse(
                        "tables.\(table) (id \"\(id)\")",
                        "\(column) does not open in its place: it was altered, or moved from another row")
                }
                if let fingerprint, stated != opened.fingerprint {
                    throw refuse(
                        "tables.\(table) (id \"\(id)\")",
                        "\(fingerprint) does not match the sealed \(column) (it is \(opened.fingerprint)): the export "
                            + "was edited")
                }
            }
        }
        let audit = try checkAudit()
        if let problem = audit.problem {
            throw refuse("tables.audit", "the audit chain does not verify: \(problem)")
        }
    }
}

/// The tables of a store as an export reads them, inside ``Store/withExportSnapshot(_:)``: only there, under the
/// store's lock and in its snapshot.
struct ExportSnapshot {
    fileprivate let database: any SQLDatabase
    /// The store's schema version.
    let schema: Int
    /// The store's path or URL, safe to show.
    let source: String
    /// The store's key check, sealed with its key.
    let keyCheck: [UInt8]

    /// Reads `table`'s rows ordered by `key`, each as (column, value) pairs in the table's column order, and hands
    /// them to `body` one at a time; lease columns are left out, and meta's key check, which every store writes
    /// for itself.
    func forEachRow(of table: String, orderedBy key: String, _ body: (StoreDump.Row) throws -> Void) throws {
        let columns = try database.columns(of: table).filter { !StoreDump.leaseColumns.contains($0) }
        let skip = table == "meta" ? " WHERE name <> 'key_check'" : ""
        let sql = "SELECT \(columns.joined(separator: ", ")) FROM \(table)\(skip) ORDER BY \(key)"
        try database.forEachRow(sql) { row in
            try body(columns.indices.map { (column: columns[$0], value: row.value(Int32($0))) })
        }
    }
}
