import Foundation

extension Store {
    /// Every exported table, read in one snapshot so that the audit chain, its anchor and the rows agree.
    func dump() throws -> StoreDump {
        try locked {
            try database.snapshot {
                let keyCheck =
                    try database.query("SELECT value FROM meta WHERE name = 'key_check'") { $0.blob(0) }.first ?? nil
                guard let keyCheck else {
                    throw StoreError(.notADatabase, "\(path) has no key check; it is not a tokentop store", path: path)
                }
                var tables: [StoreDump.Table] = []
                for (name, key, _) in StoreDump.tables {
                    let columns = try database.columns(of: name).filter { !StoreDump.leaseColumns.contains($0) }
                    // The key check travels on its own, and every store writes its own.
                    let skip = name == "meta" ? " WHERE name <> 'key_check'" : ""
                    let rows = try database.query(
                        "SELECT \(columns.joined(separator: ", ")) FROM \(name)\(skip) ORDER BY \(key)"
                    ) { row in
                        columns.indices.map { (column: columns[$0], value: row.value(Int32($0))) }
                    }
                    tables.append(StoreDump.Table(name: name, rows: rows))
                }
                return StoreDump(
                    schema: try database.schemaVersion(), exportedAt: "", source: path, keyCheck: keyCheck,
                    tables: tables)
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
    func restore(_ dump: StoreDump, file: String, user: String, at now: Date) throws -> ExportSummary {
        try locked {
            try database.transaction {
                try checkKeyUnchanged()
                do {
                    _ = try secrets.open(dump.keyCheck, context: "meta/key_check")
                } catch {
                    // A key file made just now for this new store goes with it (`NewStoreFiles`): there was none.
                    let uses =
                        secrets.createdKeyFile.map {
                            "has no key (\(SecretBox.keyVariable) is unset and there is no key file at \($0))"
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
                for table in dump.tables { try insert(table, file: file) }
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
        try locked {
            try Self.contentTables.allSatisfy { table, _ in
                try database.query("SELECT count(*) FROM \(table)") { $0.int(0) }.first == 0
            }
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

    /// Inserts one table's rows, each column checked against the table's own.
    private func insert(_ table: StoreDump.Table, file: String) throws {
        let known = Set(try database.columns(of: table.name))
        for (index, row) in table.rows.enumerated() {
            let kept = row.filter { !StoreDump.leaseColumns.contains($0.column) }
            if let unknown = kept.first(where: { !known.contains($0.column) }) {
                throw ImportError(
                    file: file, entry: "tables.\(table.name)[\(index)]", field: unknown.column,
                    problem: "no such column in \(table.name) (schema version \(Schema.latest))")
            }
            if table.name == "meta", kept.contains(where: { $0.column == "name" && $0.value == .text("key_check") }) {
                continue
            }
            let columns = kept.map(\.column).joined(separator: ", ")
            let marks = kept.map { _ in "?" }.joined(separator: ", ")
            // The store wrote its own key check (and perhaps an anchor) when it was opened.
            let upsert = table.name == "meta" ? " ON CONFLICT(name) DO UPDATE SET value = excluded.value" : ""
            do {
                try database.execute(
                    "INSERT INTO \(table.name) (\(columns)) VALUES (\(marks))\(upsert)", kept.map(\.value))
            } catch let error as StoreError {
                throw ImportError(file: file, entry: "tables.\(table.name)[\(index)]", problem: error.message)
            }
        }
    }

    /// Where sealed values live, and the context each is sealed for (its row's id binds it to its place).
    static let sealedPlaces: [(table: String, column: String, context: @Sendable (String) -> String)] = [
        ("integrations", "client_secret", Store.clientSecretContext),
        ("connections", "access_token", Store.accessTokenContext),
        ("connections", "refresh_token", Store.refreshTokenContext),
    ]

    /// Opens every sealed value of `dump` in its place: an export holding one that does not open could never be
    /// restored, and would be found out only when it is needed.
    /// - Throws: ``StoreError`` naming each row whose value does not open, and what to do.
    func checkSealed(_ dump: StoreDump) throws {
        var damaged: [String] = []
        for (table, column, context) in Self.sealedPlaces {
            for row in dump.rows(of: table) {
                guard case .blob(let value)? = row.first(where: { $0.column == column })?.value,
                    case .text(let id)? = row.first(where: { $0.column == "id" })?.value
                else { continue }
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

    /// Reads back what was restored as tokentop reads it, opens every sealed value in its place, and checks the
    /// audit chain, so that a damaged or edited export fails here rather than on some later refresh.
    private func checkRestored(_ file: String) throws {
        func refuse(_ entry: String, _ problem: String) -> ImportError {
            ImportError(file: file, entry: entry, problem: problem)
        }
        _ = try database.query("SELECT \(Self.integrationColumns) FROM integrations") { try integration(from: $0) }
        var cache = RowCache()
        _ = try database.query("SELECT \(Self.connectionColumns) FROM connections") {
            try connection(from: $0, cache: &cache)
        }
        _ = try database.query("SELECT \(Self.historyColumns) FROM history") { try historyEntry(from: $0) }
        // A token's fingerprint is what `list` and `show` say is stored: one edited in the export would name another.
        let fingerprints = ["access_token": "access_fingerprint", "refresh_token": "refresh_fingerprint"]
        for (table, column, context) in Self.sealedPlaces {
            let fingerprint = fingerprints[column]
            let rows = try database.query(
                "SELECT id, \(column), \(fingerprint ?? "NULL") FROM \(table) WHERE \(column) IS NOT NULL"
            ) { ($0.string(0) ?? "", $0.blob(1) ?? [], $0.string(2)) }
            for (id, value, stated) in rows {
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
