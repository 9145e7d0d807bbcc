import Foundation

/// The checks of an export's plain columns, before any row is written: an edited export must not put a value in the
/// store that tokentop could not show (a date past year 9999, a negative failure count, an escape sequence in a
/// subject), since the import file path refuses all of those too.
extension StoreExport {
    /// Columns holding seconds since 1970.
    static let timeColumns: Set<String> = [
        "at", "issued_at", "expires_at", "last_refresh_at", "retry_at", "revoked_at", "created_at", "secret_set_at",
        "probe_at", "due_at",
    ]
    /// Columns holding counts and numbers: whole, not negative, and exact in a JSON number.
    static let countColumns: Set<String> = ["failures", "generation", "change_seq", "seq"]
    /// Columns holding 0 or 1.
    static let flagColumns: Set<String> = ["revoked_at_provider", "probe_ok", "expiry_assumed"]
    /// Columns holding sealed bytes.
    static let sealedColumns: Set<String> = ["client_secret", "access_token", "refresh_token", "value"]
    /// Columns holding names, URLs and JSON lists, which get the import file's character checks.
    static let textColumns: Set<String> = [
        "id", "provider", "token_url", "revocation_url", "client_id", "client_auth", "scopes", "redirect_uri",
        "secret_fingerprint", "secret_kind", "authorization_url", "device_authorization_url", "api_key_in",
        "api_key_name", "probe_url", "audiences", "resources", "integration_id", "scope", "subject", "credential",
        "grant_kind", "granted_scopes", "access_fingerprint", "refresh_fingerprint", "parent_id", "workspace",
        "members", "connection_id", "kind", "name", "imported_access_fingerprint", "imported_refresh_fingerprint",
    ]
    /// Text a provider or tokentop wrote as prose (it may span lines, and is cleaned when shown), or the audit
    /// log's, which its hash chain covers.
    static let proseColumns: Set<String> = [
        "last_error", "reauth_reason", "probe_detail", "message", "error", "detail", "target", "os_user", "action",
        "outcome", "previous_hash", "hash",
    ]

    /// Checks an export's rows one at a time, table by table in ``StoreDump/tables`` order: every plain value, that
    /// no key appears twice in a table, that ids are in Unicode NFC, the import file's rules of meaning, and every
    /// reference between rows. It keeps the keys and ids it has seen, never the rows.
    struct RowCheck {
        let file: String
        /// The restore's clock, which the times that must have passed are checked against.
        let now: Date
        /// How many rows each table held.
        private(set) var counts: [String: Int] = [:]
        /// The ids of each table's rows, which references name.
        private var ids: [String: Set<String>] = [:]
        /// Each key of the table being checked, with its first row, so that a second is refused here by both
        /// positions rather than by the database's bare UNIQUE constraint (or, for meta's upsert, not at all).
        private var firstRow: [String: Int] = [:]
        /// Each derived connection's parent, by the connection's id.
        private var parents: [String: String] = [:]
        /// Derived connections, checked against their parents once every connection has been seen.
        private var derived: [(entry: String, parent: String)] = []

        init(file: String, at now: Date) {
            self.file = file
            self.now = now
        }

        /// Checks one row of `table`, at `index` in it.
        /// - Throws: ``ImportError`` naming the table, the row (by id) and the column.
        mutating func check(_ row: StoreDump.Row, table: String, index: Int) throws {
            counts[table, default: 0] += 1
            let entry = label(table, index: index, row: row)
            for (column, value) in row {
                try checkValue(value, table: table, column: column, file: file, entry: entry)
            }
            try checkUnique(row, table: table, index: index, entry: entry)
            if case .text(let id)? = row.first(where: { $0.column == "id" })?.value {
                ids[table, default: []].insert(id)
            }
            // Ids and the references to them are composed (NFC), as an import file's are.
            if let columns = Self.idColumns[table] {
                let fields = reader(row, entry: entry)
                for column in columns { try fields.requireComposed(column) }
            }
            switch table {
            case "integrations": try checkIntegration(reader(row, entry: entry))
            case "connections":
                try checkConnection(row, fields: reader(row, entry: entry), entry: entry)
                try checkReference(row, table: table, column: "integration_id", target: "integrations", entry: entry)
            case "history":
                try checkHistory(row, fields: reader(row, entry: entry))
                // The entry `tokentop delete` leaves names the connection it deleted, which is no longer there.
                if case .text(HistoryEntry.Kind.deleted.rawValue)? = row.first(where: { $0.column == "kind" })?.value {
                    break
                }
                try checkReference(row, table: table, column: "connection_id", target: "connections", entry: entry)
            default: break
            }
        }

        /// The columns of each table that hold ids or name them.
        private static let idColumns = [
            "integrations": ["id"], "connections": ["id", "integration_id", "parent_id"],
            "history": ["connection_id"], "deleted_connections": ["id"],
        ]

        /// Checks what needed every row of `table`, and forgets its keys.
        /// - Throws: ``ImportError`` for a derived connection whose parent is derived too, or is not there.
        mutating func endTable(_ table: String) throws {
            firstRow = [:]
            guard table == "connections" else { return }
            for (entry, parent) in derived where parents[parent] != nil {
                throw ImportError(
                    file: file, entry: entry, field: "parent_id",
                    problem: "\"\(parent)\" is itself derived from another connection; one level of derivation only")
            }
            for (entry, parent) in derived where ids["connections"]?.contains(parent) != true {
                throw ImportError(
                    file: file, entry: entry, field: "parent_id",
                    problem: "names \(ImportError.quoted(parent)), which is not in tables.connections")
            }
            derived = []
        }

        private mutating func checkUnique(_ row: StoreDump.Row, table: String, index: Int, entry: String) throws {
            let keyColumn = StoreDump.tables.first { $0.name == table }?.key ?? "id"
            // The raw value finds the earlier row; the message shows it cleaned.
            let key: (raw: String, shown: String)? =
                switch row.first(where: { $0.column == keyColumn })?.value {
                case .text(let text)?: ("text " + text, "\"\(SafeText.clean(text))\"")
                case .integer(let number)?: ("integer \(number)", "\(number)")
                default: nil
                }
            guard let key else { return }
            if let earlier = firstRow[key.raw] {
                throw ImportError(
                    file: file, entry: entry, field: keyColumn,
                    problem: "\(key.shown) is already used by tables.\(table)[\(earlier)]; each \(keyColumn) appears "
                        + "once in a table")
            }
            firstRow[key.raw] = index
        }

        /// Refuses a reference to a row that `target`, checked before this table, does not hold.
        private func checkReference(
            _ row: StoreDump.Row, table: String, column: String, target: String, entry: String
        ) throws {
            guard case .text(let id)? = row.first(where: { $0.column == column })?.value else { return }
            guard ids[target]?.contains(id) == true else {
                throw ImportError(
                    file: file, entry: entry, field: column,
                    problem: "names \(ImportError.quoted(id)), which is not in tables.\(target)")
            }
        }

        /// The row's plain values as the import file's reader reads its fields.
        private func reader(_ row: StoreDump.Row, entry: String) -> ImportFieldReader {
            var object = JSONObject()
            for (column, value) in row {
                switch value {
                case .text(let text): _ = object.insert(column, .string(text))
                case .integer(let number): _ = object.insert(column, .number(Double(number)))
                case .real(let number): _ = object.insert(column, .number(number))
                case .null, .blob: break
                }
            }
            return ImportFieldReader(object: object, file: file, entry: entry)
        }

        /// Holds an integration to the import file's rules of meaning, with the same readers: URLs are http or
        /// https with a host and no credentials, names come from their lists, an API key's placement and a probe's
        /// interval are whole. (Each list column's entries are held to the import's rules by `checkList`.)
        private func checkIntegration(_ fields: ImportFieldReader) throws {
            _ = try fields.requiredString("provider", "the provider's name, for example \"github\"")
            _ = try fields.requiredString("token_url", "the token endpoint")
            _ = try fields.requiredString("client_id", "the client id the provider issued")
            for column in ["token_url", "revocation_url", "authorization_url", "device_authorization_url"] {
                _ = try fields.httpURL(column)
            }
            _ = try fields.httpURL("probe_url")
            _ = try ImportFile.probeInterval(fields)
            _ = try fields.redirectURI("redirect_uri")
            _ = try ImportFile.apiKeyPlacement(fields)
            _ = try fields.choice("client_auth", ClientAuthMethod.self)
            if let kind = try fields.string("secret_kind"), Integration.SecretKind(rawValue: kind) == nil {
                throw fields.fail("secret_kind", "unknown value \"\(SafeText.clean(kind))\"")
            }
        }

        /// Holds a connection to the import file's rules of meaning: names from their lists, a subject and a
        /// workspace visible and bounded, a secret set no later than ``now``, a derived connection with a parent
        /// (which ``endTable(_:)`` checks once every connection is known), and a token for each fingerprint.
        /// A history entry as tokentop reads it back: a kind it knows, an error it can decode, and a message no
        /// longer than any field may be (a message of megabytes held the detail view for seconds at each frame).
        private func checkHistory(_ row: StoreDump.Row, fields: ImportFieldReader) throws {
            _ = try fields.choice("kind", HistoryEntry.Kind.self)
            for (column, value) in row {
                guard case .text(let text) = value else { continue }
                switch column {
                case "message" where text.utf8.count > ImportFieldReader.maximumStringBytes:
                    throw fields.fail(
                        column, "is \(text.utf8.count) bytes long, more than the 64 KiB any field may be")
                case "error" where (try? JSONDecoder().decode(ProviderError.self, from: Data(text.utf8))) == nil:
                    throw fields.fail(column, "is not an error as tokentop records one (JSON with kind and error)")
                default: break
                }
            }
        }

        private mutating func checkConnection(
            _ row: StoreDump.Row, fields: ImportFieldReader, entry: String
        ) throws {
            _ = try fields.choice("scope", IdentityScope.self)
            let credential = try fields.choice("credential", CredentialKind.self)
            let grant = try fields.choice("grant_kind", GrantKind.self)
            if let credential, let grant {
                try ImportFile.checkStaticGrant(fields, "grant_kind", grant: grant, credential: credential)
            }
            _ = try fields.subject("subject")
            _ = try fields.workspace("workspace")
            if let setAt = try fields.number("secret_set_at"),
                let problem = ImportFile.secretSetAtProblem(Date(timeIntervalSince1970: setAt), at: now)
            {
                throw fields.fail("secret_set_at", problem)
            }
            let id = try fields.string("id") ?? ""
            if case .text(let parent)? = row.first(where: { $0.column == "parent_id" })?.value {
                guard parent != id else { throw fields.fail("parent_id", "a connection cannot be its own parent") }
                parents[id] = parent
                derived.append((entry, parent))
            } else if let grant, grant.derivesFromParent {
                throw fields.fail("parent_id", "missing; grant \(grant.rawValue) derives its token from a parent")
            }
            // A fingerprint stands for a stored token: without the token, `show` would describe one that is gone.
            // Revoking erases the tokens and keeps their fingerprints, which say what was revoked.
            let revoked = row.contains { $0.column == "revoked_at" && $0.value != .null }
            let sealedBy = [("access_fingerprint", "access_token"), ("refresh_fingerprint", "refresh_token")]
            for (fingerprint, token) in sealedBy
            where !revoked && row.contains(where: { $0.column == fingerprint && $0.value != .null })
                && !row.contains(where: { $0.column == token && $0.value != .null })
            {
                throw fields.fail(token, "missing, though \(fingerprint) says a token is stored")
            }
        }
    }

    /// `tables.connections[0] (id "acme-bob")`, or `tables.audit[3] (seq 4)`.
    static func label(_ table: String, index: Int, row: StoreDump.Row) -> String {
        let key = row.first { $0.column == "id" || $0.column == "seq" || $0.column == "name" }
        switch key?.value {
        case .text(let id)?: return "tables.\(table)[\(index)] (\(key!.column) \(ImportError.quoted(id)))"
        case .integer(let number)?: return "tables.\(table)[\(index)] (\(key!.column) \(number))"
        default: return "tables.\(table)[\(index)]"
        }
    }

    private static func checkValue(
        _ value: SQLValue, table: String, column: String, file: String, entry: String
    ) throws {
        func refuse(_ problem: String, field: String? = nil) -> ImportError {
            ImportError(file: file, entry: entry, field: field ?? column, problem: problem)
        }
        // A lease is dropped on the way in.
        if case .null = value { return }
        if StoreDump.leaseColumns.contains(column) { return }
        let number: Double? =
            switch value {
            case .integer(let whole): Double(whole)
            case .real(let real): real
            default: nil
            }
        if timeColumns.contains(column) {
            guard let number, number.isFinite, number >= RFC3339.earliest, number <= RFC3339.latest else {
                throw refuse(
                    "expected seconds since 1970 for a time between the years 0000 and 9999, found \(describe(value))")
            }
        } else if countColumns.contains(column) || (table == "history" && column == "id") {
            guard case .integer(let whole) = value, whole >= 0, whole <= 1 << 53 else {
                throw refuse("expected a whole number from 0 to 2^53, found \(describe(value))")
            }
        } else if flagColumns.contains(column) {
            guard case .integer(let flag) = value, flag == 0 || flag == 1 else {
                throw refuse("expected 0 or 1, found \(describe(value))")
            }
        } else if column == "probe_interval" {
            // Its range, and that it comes with a probe_url, are the import's rules (see `checkMeaning`).
            guard number != nil else { throw refuse("expected a number of seconds, found \(describe(value))") }
        } else if sealedColumns.contains(column) {
            guard case .blob = value else { throw refuse("expected {\"base64\": …} holding the sealed bytes") }
        } else if case .text(let text) = value, let list = listColumns[column] {
            try checkList(text, column: column, as: list, refuse: refuse)
        } else if case .text(let text) = value {
            guard textColumns.contains(column) else { return }
            if let control = text.unicodeScalars.first(where: SafeText.isUnsafe) {
                throw refuse(
                    "contains the control or invisible character U+\(String(format: "%04X", control.value)); remove it")
            }
            guard text.utf8.count <= ImportFieldReader.maximumStringBytes else {
                throw refuse("is \(text.utf8.count) bytes long, more than the 64 KiB any field may be")
            }
        } else if textColumns.contains(column) || proseColumns.contains(column) {
            // A column this tokentop does not know is left to the restore, which names it as unknown.
            throw refuse("expected a string, found \(describe(value))")
        }
    }

    /// The columns that hold a list as a JSON array of strings, with the most entries and what each entry is: each
    /// string is held to what an import takes (so that every store an import made is restored), not the whole list
    /// to one field's 64 KiB. `granted_scopes` also holds what providers granted, which tokentop keeps readable
    /// rather than refused (``TokenGrant/storable(_:)``), so its entries are held to an import's rules for any text.
    static let listColumns: [String: (maximumCount: Int, entries: ImportFieldReader.ListEntry)] = [
        "scopes": (ImportFieldReader.maximumListCount, .scopeToken),
        "granted_scopes": (ImportFieldReader.maximumListCount, .text),
        "audiences": (ImportFieldReader.maximumListCount, .audience),
        "resources": (ImportFieldReader.maximumListCount, .resource),
        "members": (ImportFile.maximumMembers, ImportFile.memberEntries),
    ]

    private static func checkList(
        _ text: String, column: String, as list: (maximumCount: Int, entries: ImportFieldReader.ListEntry),
        refuse: (String, String?) -> ImportError
    ) throws {
        // A byte order mark may start a file, never a value inside one: the column holds the array itself.
        if text.unicodeScalars.first == "\u{FEFF}" {
            throw refuse("starts with a byte order mark (U+FEFF) before its [; remove it", nil)
        }
        guard text.utf8.first == UInt8(ascii: "["),
            let entries = try? JSONDecoder().decode([String].self, from: Data(text.utf8))
        else {
            throw refuse("expected a JSON array of strings", nil)
        }
        guard entries.count <= list.maximumCount else {
            throw refuse("has \(entries.count) entries, more than the \(list.maximumCount) allowed", nil)
        }
        for (index, entry) in entries.enumerated() {
            if let problem = ImportFieldReader.entryProblem(entry, as: list.entries) {
                throw refuse(problem, "\(column)[\(index)]")
            }
        }
    }

    /// A value as the error quotes it: numbers and kinds, never text (which may be anything).
    private static func describe(_ value: SQLValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let number): "\(number)"
        case .real(let number): "\(number)"
        case .text: "a string"
        case .blob: "bytes"
        }
    }
}
