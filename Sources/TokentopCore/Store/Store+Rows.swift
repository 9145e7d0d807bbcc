import Foundation

/// How model values map to rows. Every function here runs with the store's lock held.
extension Store {
    static let integrationColumns = """
        id, provider, token_url, revocation_url, client_id, client_auth, scopes, redirect_uri, secret_fingerprint, \
        secret_kind, authorization_url, device_authorization_url, api_key_in, api_key_name, probe_url, probe_interval, \
        audiences, resources
        """

    static let connectionColumns = """
        id, integration_id, scope, subject, credential, grant_kind, granted_scopes, access_fingerprint, \
        refresh_fingerprint, issued_at, expires_at, last_refresh_at, failures, last_error, retry_at, reauth_reason, \
        revoked_at, revoked_at_provider, created_at, parent_id, workspace, members, secret_set_at, probe_at, probe_ok, \
        probe_detail, expiry_assumed
        """

    /// The position of `change_seq` when a query selects it right after ``connectionColumns``.
    static let changeSeqColumn: Int32 = 27

    static let historyColumns = "at, connection_id, kind, message, error"

    /// Sorts by the scope's position in the dashboard, which is not the alphabetical order of its name.
    static let scopeOrder: String = {
        let cases = IdentityScope.allCases.map { "WHEN '\($0.rawValue)' THEN \($0.ordinal)" }.joined(separator: " ")
        return "CASE scope \(cases) ELSE \(IdentityScope.allCases.count) END"
    }()

    // The additional authenticated data of each secret column: a sealed value opens only in its own place.
    static func accessTokenContext(_ id: String) -> String { "connections/\(id)/access_token" }
    static func refreshTokenContext(_ id: String) -> String { "connections/\(id)/refresh_token" }
    static func clientSecretContext(_ id: String) -> String { "integrations/\(id)/client_secret" }

    // MARK: - Integrations

    func integration(from row: SQLRow) throws -> Integration {
        let id = row.string(0) ?? ""
        guard let tokenURL = row.string(2).flatMap(URL.init(string:)) else {
            throw damaged("integration \(id) has no valid token URL")
        }
        return Integration(
            id: id, provider: row.string(1) ?? "", tokenURL: tokenURL,
            revocationURL: row.string(3).flatMap(URL.init(string:)), clientID: row.string(4) ?? "",
            clientAuth: try value(row.string(5), ClientAuthMethod.self, { "client_auth of integration \(id)" }),
            scopes: try strings(row.string(6), { "scopes of integration \(id)" }), redirectURI: row.string(7),
            secretFingerprint: row.string(8),
            secretKind: try value(row.string(9), Integration.SecretKind.self, { "secret kind of integration \(id)" }),
            authorizationURL: row.string(10).flatMap(URL.init(string:)),
            deviceAuthorizationURL: row.string(11).flatMap(URL.init(string:)),
            apiKeyPlacement: try row.string(12).map {
                APIKeyPlacement(
                    location: try value(
                        $0, APIKeyPlacement.Location.self, { "API key placement of integration \(id)" }),
                    name: row.string(13) ?? "")
            },
            probeURL: row.string(14).flatMap(URL.init(string:)), probeInterval: row.double(15),
            audiences: try strings(row.string(16), { "audiences of integration \(id)" }),
            resources: try strings(row.string(17), { "resources of integration \(id)" }))
    }

    func integrationExists(_ id: String) throws -> Bool {
        try !database.query("SELECT 1 FROM integrations WHERE id = ?", [id]) { _ in () }.isEmpty
    }

    /// Inserts or replaces an integration and its client secret; returns whether it replaced one.
    func saveIntegration(_ entry: ImportBundle.IntegrationEntry) throws -> Bool {
        let integration = entry.integration
        let secret = try entry.clientSecret.map {
            try secrets.seal($0, context: Self.clientSecretContext(integration.id))
        }
        let replaced = try integrationExists(integration.id)
        let values: [any SQLBindable] = [
            integration.provider, integration.tokenURL.absoluteString, integration.revocationURL?.absoluteString,
            integration.clientID, integration.clientAuth.rawValue, Self.json(integration.scopes),
            integration.redirectURI, secret,
            // A key's fingerprint is its public key's, from the importer; a PEM's first characters say nothing.
            integration.secretKind == .privateKey ? integration.secretFingerprint : entry.clientSecret?.fingerprint,
            integration.secretKind.rawValue, integration.authorizationURL?.absoluteString,
            integration.deviceAuthorizationURL?.absoluteString, integration.apiKeyPlacement?.location.rawValue,
            integration.apiKeyPlacement?.name, integration.probeURL?.absoluteString, integration.probeInterval,
            Self.json(integration.audiences), Self.json(integration.resources), integration.id,
        ]
        // UPDATE rather than INSERT OR REPLACE: a replace deletes the row first, which the connections'
        // foreign keys would refuse.
        try database.execute(
            replaced
                ? """
                UPDATE integrations SET provider = ?, token_url = ?, revocation_url = ?, client_id = ?,
                    client_auth = ?, scopes = ?, redirect_uri = ?, client_secret = ?, secret_fingerprint = ?,
                    secret_kind = ?, authorization_url = ?, device_authorization_url = ?, api_key_in = ?,
                    api_key_name = ?, probe_url = ?, probe_interval = ?, audiences = ?, resources = ?
                WHERE id = ?
                """
                : """
                INSERT INTO integrations (provider, token_url, revocation_url, client_id, client_auth, scopes,
                    redirect_uri, client_secret, secret_fingerprint, secret_kind, authorization_url,
                    device_authorization_url, api_key_in, api_key_name, probe_url, probe_interval, audiences,
                    resources, id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            values)
        return replaced
    }

    // MARK: - Connections

    func loadConnection(_ id: String) throws -> Connection? {
        var cache = RowCache()
        return try database.query("SELECT \(Self.connectionColumns) FROM connections WHERE id = ?", [id]) {
            try connection(from: $0, cache: &cache)
        }.first
    }

    /// What reading many rows decoded already: most rows share a few scope lists and member lists, and a provider's
    /// outage leaves the same error on thousands of them.
    struct RowCache {
        var lists: [String: [String]] = [:]
        var errors: [String: ProviderError] = [:]
    }

    /// The most failures a connection's count may hold: a request a second would take 68 years to reach it.
    static let maximumFailures = Int(Int32.max)

    /// A connection from a row; `cache` saves decoding the same list or error again for each of many rows.
    func connection(from row: SQLRow, cache: inout RowCache) throws -> Connection {
        let id = row.string(0) ?? ""
        let grantedScopes = try list(row.string(6), &cache) { "granted scopes of connection \(id)" }
        let lastError = try row.string(13).map { text in
            if let known = cache.errors[text] { return known }
            do {
                let error = try decoder.decode(ProviderError.self, from: Data(text.utf8))
                cache.errors[text] = error
                return error
            } catch {
                throw damaged("connection \(id) has an unreadable last error")
            }
        }
        let failures = row.int(12)
        // Counted up from 0 by tokentop, one a request: a negative count showed as the connection's failures, its
        // status healthy; one near Int.max overflowed at the next failure and crashed the refresher at each start.
        guard failures >= 0 else { throw damaged("connection \(id) has a negative failure count (\(failures))") }
        guard failures <= Self.maximumFailures else {
            throw damaged("connection \(id) has a failure count of \(failures), more than tokentop ever counts")
        }
        return Connection(
            id: id, integrationID: row.string(1) ?? "",
            scope: try value(row.string(2), IdentityScope.self, { "scope of connection \(id)" }),
            subject: row.string(3) ?? "",
            credential: try value(row.string(4), CredentialKind.self, { "credential of connection \(id)" }),
            grant: try value(row.string(5), GrantKind.self, { "grant of connection \(id)" }),
            grantedScopes: grantedScopes, accessFingerprint: row.string(7), refreshFingerprint: row.string(8),
            issuedAt: try time(row, 9, of: id), expiresAt: try time(row, 10, of: id),
            lastRefreshAt: try time(row, 11, of: id), failures: failures, lastError: lastError,
            retryAt: try time(row, 14, of: id), reauthReason: row.string(15), revokedAt: try time(row, 16, of: id),
            revokedAtProvider: row.bool(17), createdAt: try time(row, 18, of: id) ?? Date(timeIntervalSince1970: 0),
            parentID: row.string(19), workspace: row.string(20),
            members: try list(row.string(21), &cache) { "members of connection \(id)" },
            secretSetAt: try time(row, 22, of: id),
            probe: try time(row, 23, of: id).map {
                ProbeResult(at: $0, ok: row.bool(24), detail: row.string(25) ?? "")
            },
            expiryAssumed: row.bool(26))
    }

    /// The names of ``connectionColumns``, by position.
    private static let connectionColumnNames = connectionColumns.split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The time in `column` of the row of connection `id`; one that is no time is named by table, column and row,
    /// rather than read as 1970.
    private func time(_ row: SQLRow, _ column: Int32, of id: String) throws -> Date? {
        try storedTime(
            row, column, table: "connections", named: Self.connectionColumnNames[Int(column)],
            row: SafeText.name(id), remedy: "import the credential again")
    }

    /// The time in `column` (called `name`) of a row of `table`, or nil for NULL; one that is no time (text a hand
    /// edit left, NaN) is an error naming the table, the column and the row (`described`, worked out only then: it
    /// is read for every time of every row), not a time in 1970.
    func storedTime(
        _ row: SQLRow, _ column: Int32, table: String, named name: String, row described: @autoclosure () -> String,
        remedy: String
    ) throws -> Date? {
        do {
            return try row.time(column)
        } catch {
            var unreadable = StoreError(
                .notADatabase,
                "the database \(path) holds data tokentop cannot read: table \(table), column \(name), row "
                    + "\(described()) holds \(error.stored), not a time in seconds since 1970; set it to a number of "
                    + "seconds or NULL, or \(remedy)", path: path)
            unreadable.isUnreadableRow = true
            throw unreadable
        }
    }

    /// The columns of a connection other than its id and its secrets, in the order of ``factValues(_:)``.
    static let factColumns = [
        "integration_id", "scope", "subject", "credential", "grant_kind", "granted_scopes", "access_fingerprint",
        "refresh_fingerprint", "issued_at", "expires_at", "last_refresh_at", "failures", "last_error", "retry_at",
        "reauth_reason", "revoked_at", "revoked_at_provider", "created_at", "parent_id", "workspace", "members",
        "secret_set_at", "probe_at", "probe_ok", "probe_detail", "due_at", "expiry_assumed",
    ]

    func factValues(_ connection: Connection) throws -> [any SQLBindable] {
        let lastError = try connection.lastError.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return [
            connection.integrationID, connection.scope.rawValue, connection.subject, connection.credential.rawValue,
            connection.grant.rawValue, Self.json(connection.grantedScopes), connection.accessFingerprint,
            connection.refreshFingerprint, connection.issuedAt, connection.expiresAt, connection.lastRefreshAt,
            connection.failures, lastError, connection.retryAt, connection.reauthReason, connection.revokedAt,
            connection.revokedAtProvider, connection.createdAt, connection.parentID, connection.workspace,
            Self.json(connection.members), connection.secretSetAt, connection.probe?.at, connection.probe?.ok,
            connection.probe?.detail, duePolicy.dueAt(connection), connection.expiryAssumed,
        ]
    }

    /// The columns a refresh's outcome changes (``applySuccess(_:message:at:to:)`` and
    /// ``applyFailure(_:retryAt:reauthReason:at:to:)``), and their positions in ``factColumns``.
    ///
    /// The refresh actor's group commit writes only these: setting a column, even to its old value, makes SQLite
    /// rewrite every index over it, and `integration_id`'s index page was one more page in the write-ahead log per
    /// refresh, with a foreign-key lookup besides.
    static let outcomeColumns = [
        "granted_scopes", "access_fingerprint", "refresh_fingerprint", "issued_at", "expires_at", "last_refresh_at",
        "failures", "last_error", "retry_at", "reauth_reason", "due_at", "expiry_assumed",
    ]
    private static let outcomePositions = outcomeColumns.map { column in factColumns.firstIndex(of: column)! }

    /// The values of ``outcomeColumns`` for `connection`, in that order.
    func outcomeValues(_ connection: Connection) throws -> [any SQLBindable] {
        let facts = try factValues(connection)
        return Self.outcomePositions.map { facts[$0] }
    }

    /// Writes every column of `connection` except the secrets.
    func updateFacts(_ connection: Connection) throws {
        let assignments = Self.factColumns.map { "\($0) = ?" }.joined(separator: ", ")
        try database.execute(
            "UPDATE connections SET \(assignments) WHERE id = ?", try factValues(connection) + [connection.id])
    }

    // MARK: - History

    /// Appends `entry` to its connection's history, within the caller's transaction.
    /// - Parameter shown: whether its writer in this process shows the entry itself, so that this process's history
    ///   feed passes over it (``shownHere``); noted with the lock held, so the feed sees the entry and the note
    ///   together.
    func insertHistory(_ entry: HistoryEntry, shown: Bool = false) throws {
        let error = try entry.error.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let insert = "INSERT INTO history (at, connection_id, kind, message, error) VALUES (?, ?, ?, ?, ?)"
        let values: [any SQLBindable] = [entry.at, entry.connectionID, entry.kind.rawValue, entry.message, error]
        if shown {
            if let id = try database.query(insert + " RETURNING id", values, row: { $0.int(0) }).first {
                shownHere.append(id...id)
            }
        } else {
            try database.execute(insert, values)
        }
        try announceChange()
    }

    /// The entry of `row`, or nil when its values cannot be read (a hand edit, or a kind a newer version wrote to a
    /// shared store), with what is wrong added to `problems`: it is left out of what is shown and of the history
    /// feed, where it failed every read of the history (a dashboard would not start) or stopped the feed at that
    /// entry for good. An export still refuses it.
    func readableHistoryEntry(from row: SQLRow, problems: inout [String]) -> HistoryEntry? {
        do {
            return try historyEntry(from: row)
        } catch {
            problems.append("\(error)")
            return nil
        }
    }

    func historyEntry(from row: SQLRow) throws -> HistoryEntry {
        let connectionID = row.string(1) ?? ""
        let error = try row.string(4).map { text in
            do {
                return try decoder.decode(ProviderError.self, from: Data(text.utf8))
            } catch {
                throw damaged("a history entry of connection \(connectionID) has an unreadable error")
            }
        }
        return HistoryEntry(
            at: try storedTime(
                row, 0, table: "history", named: "at", row: "of connection \(SafeText.name(connectionID))",
                remedy: "delete that row") ?? Date(timeIntervalSince1970: 0),
            connectionID: connectionID,
            kind: try value(row.string(2), HistoryEntry.Kind.self, { "history kind of connection \(connectionID)" }),
            message: row.string(3) ?? "", error: error)
    }

    // MARK: - Values

    /// A JSON array of strings, written by hand: `JSONEncoder` dominated the cost of a large import.
    static func json(_ strings: [String]) -> String {
        var text = "["
        for (index, string) in strings.enumerated() {
            if index > 0 { text += "," }
            text += "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\u{20}"...: text.unicodeScalars.append(scalar)
                default: text += String(format: "\\u%04x", scalar.value)
                }
            }
            text += "\""
        }
        return text + "]"
    }

    // `what` is a closure: describing the field for an error cost an allocation per row and field even when nothing
    // was wrong, which at 100,000 rows was a tenth of loading them.
    private func list(_ text: String?, _ cache: inout RowCache, _ what: () -> String) throws -> [String] {
        guard let text, text != "[]" else { return [] }
        if let known = cache.lists[text] { return known }
        let strings = try strings(text, what)
        cache.lists[text] = strings
        return strings
    }

    private func strings(_ text: String?, _ what: () -> String) throws -> [String] {
        guard let text, text != "[]" else { return [] }
        if let list = Self.plainList(text) { return list }
        do {
            return try decoder.decode([String].self, from: Data(text.utf8))
        } catch {
            throw damaged("the \(what()) is not a JSON list of strings")
        }
    }

    /// The strings of a list as ``json(_:)`` writes it when no string needs an escape (`["a","b c"]`), read
    /// without `JSONDecoder`, which was most of the cost of reading a claimed row; nil for anything else, which the
    /// decoder then reads.
    static func plainList(_ text: String) -> [String]? {
        text.utf8.withContiguousStorageIfAvailable { bytes -> [String]? in
            let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), backslash = UInt8(ascii: "\\")
            guard bytes.count >= 4, bytes.first == UInt8(ascii: "["), bytes.last == UInt8(ascii: "]") else {
                return nil
            }
            var list: [String] = []
            var index = 1
            let end = bytes.count - 1
            while index < end {
                guard bytes[index] == quote else { return nil }
                let start = index + 1
                var close = start
                while close < end, bytes[close] != quote {
                    // Escapes and control characters go to the decoder.
                    guard bytes[close] != backslash, bytes[close] >= 0x20 else { return nil }
                    close += 1
                }
                guard close < end else { return nil }
                list.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<close]), as: UTF8.self))
                index = close + 1
                if index < end {
                    guard bytes[index] == comma, index + 1 < end else { return nil }
                    index += 1
                }
            }
            return list
        } ?? nil
    }

    private func value<E: RawRepresentable>(_ text: String?, _ type: E.Type, _ what: () -> String) throws -> E
    where E.RawValue == String {
        guard let text, let value = E(rawValue: text) else {
            throw damaged("the \(what()) is \"\(text ?? "null")\", which this tokentop does not know")
        }
        return value
    }

    private func damaged(_ problem: String) -> StoreError {
        var error = StoreError(
            .notADatabase,
            "the database \(path) holds data tokentop cannot read: \(problem); it was changed outside tokentop "
                + "or by a newer version; import the credential again", path: path)
        error.isUnreadableRow = true
        return error
    }
}
