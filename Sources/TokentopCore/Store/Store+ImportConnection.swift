import Foundation

/// How an import writes one connection, and what it refuses to replace. Every function here runs with the store's
/// lock held, inside the import's transaction, so a refusal leaves nothing of the file written.
extension Store {
    /// What says whether a connection's tokens are dead: revoked (here, or at the provider too) or refused by the
    /// provider (it needs re-auth), with the fingerprints of the tokens it holds and was last imported with. A
    /// stored connection has these facts, and so does the row `tokentop delete` leaves of one in
    /// `deleted_connections`, so that its dead tokens are not imported again either.
    struct DeadTokens {
        var revokedAt: Date?
        var revokedAtProvider: Bool
        /// Why it needs a human: the provider refused its refresh token or its key (`needs-reauth`).
        var reauthReason: String?
        var accessFingerprint: String?
        var refreshFingerprint: String?
        var importedAccessFingerprint: String?
        var importedRefreshFingerprint: String?
        /// Whether the connection has been deleted since, which the refusal of a refused token says.
        var deleted = false

        /// The columns of these facts, in the order of the properties, in `connections` and `deleted_connections`.
        static let columns =
            "revoked_at, revoked_at_provider, reauth_reason, access_fingerprint, refresh_fingerprint, "
            + "imported_access_fingerprint, imported_refresh_fingerprint"
    }

    /// Another process's refresh of the bundle's connection at `index`, which the import waits for (see
    /// ``importBundle(_:at:waiting:)``).
    struct RefreshInFlight: Error {
        var index: Int
        var connectionID: String
        var owner: String
        var until: Date
    }

    /// What an import needs to know of a stored connection before it replaces it.
    struct StoredForImport {
        var createdAt: Date
        var integrationID: String
        var scope: String
        var subject: String
        var revokedAt: Date?
        var revokedAtProvider: Bool
        /// The tokens' fingerprints, which revoking keeps (it erases the tokens): they say what was revoked.
        var accessFingerprint: String?
        var refreshFingerprint: String?
        var secretSetAt: Date?
        var credential: String
        /// The fingerprints of the tokens it was last imported with; nil for both before tokentop recorded them.
        var importedAccessFingerprint: String?
        var importedRefreshFingerprint: String?
        /// Why it needs a human: the provider refused its refresh token or its key (`needs-reauth`).
        var reauthReason: String?
        /// The refresh lease on it, if any: a refresh may be in flight in another process.
        var leaseOwner: String?
        var leaseUntil: Date?

        /// Its facts that say which of its tokens are dead.
        var deadTokens: DeadTokens {
            DeadTokens(
                revokedAt: revokedAt, revokedAtProvider: revokedAtProvider, reauthReason: reauthReason,
                accessFingerprint: accessFingerprint, refreshFingerprint: refreshFingerprint,
                importedAccessFingerprint: importedAccessFingerprint,
                importedRefreshFingerprint: importedRefreshFingerprint)
        }

        /// Whether the import of `entry` keeps the stored tokens rather than the file's: the file's are exactly
        /// those this connection was last imported with, and tokentop has replaced them since (a refresh, a
        /// rotated refresh token, a sign-in). Putting them back would bring an older token, and after a rotation a
        /// refresh token the provider no longer takes.
        func keepsRenewedTokens(_ entry: ImportBundle.ConnectionEntry) -> Bool {
            guard revokedAt == nil, credential == entry.credential.rawValue,
                entry.accessToken != nil || entry.refreshToken != nil,
                importedAccessFingerprint != nil || importedRefreshFingerprint != nil
            else { return false }
            let file = (entry.accessToken?.fingerprint, entry.refreshToken?.fingerprint)
            guard file == (importedAccessFingerprint, importedRefreshFingerprint) else { return false }
            return (accessFingerprint, refreshFingerprint) != file
        }

        /// What the import summary and the history say of tokens kept by ``keepsRenewedTokens(_:)``.
        func keptNote(_ current: Connection) -> String {
            let when = current.lastRefreshAt.map { RFC3339.string(from: $0) }
            if refreshFingerprint != importedRefreshFingerprint {
                return "kept the refresh token tokentop rotated since the last import"
                    + (when.map { " (last renewed at \($0))" } ?? "") + "; the file's is older"
            }
            return "kept the access token tokentop renewed" + (when.map { " at \($0)" } ?? " since the last import")
                + "; the file's is older"
        }
    }

    /// The facts of the stored connection `id` that decide how an import may replace it, or nil when there is none.
    func storedForImport(_ id: String) throws -> StoredForImport? {
        try database.query(
            """
            SELECT created_at, integration_id, scope, subject, revoked_at, revoked_at_provider, access_fingerprint,
                refresh_fingerprint, secret_set_at, credential, imported_access_fingerprint,
                imported_refresh_fingerprint, reauth_reason, lease_owner, lease_until
            FROM connections WHERE id = ?
            """ + database.dialect.lockRows, [id]
        ) { row in
            StoredForImport(
                createdAt: row.date(0) ?? Date(timeIntervalSince1970: 0), integrationID: row.string(1) ?? "",
                scope: row.string(2) ?? "", subject: row.string(3) ?? "", revokedAt: row.date(4),
                revokedAtProvider: row.bool(5), accessFingerprint: row.string(6), refreshFingerprint: row.string(7),
                secretSetAt: row.date(8), credential: row.string(9) ?? "", importedAccessFingerprint: row.string(10),
                importedRefreshFingerprint: row.string(11), reauthReason: row.string(12), leaseOwner: row.string(13),
                leaseUntil: row.date(14))
        }.first
    }

    /// What the rows of deleted connections of id `id` say of their dead tokens, the latest deletion first; none
    /// when no connection of that id was deleted with a revoked or refused token.
    func deletedDeadTokens(_ id: String) throws -> [DeadTokens] {
        try database.query(
            """
            SELECT \(DeadTokens.columns) FROM deleted_connections
            WHERE id = ? AND (revoked_at IS NOT NULL OR reauth_reason IS NOT NULL) ORDER BY change_seq DESC
            """, [id]
        ) { row in
            DeadTokens(
                revokedAt: row.date(0), revokedAtProvider: row.bool(1), reauthReason: row.string(2),
                accessFingerprint: row.string(3), refreshFingerprint: row.string(4),
                importedAccessFingerprint: row.string(5), importedRefreshFingerprint: row.string(6), deleted: true)
        }
    }

    /// Inserts or replaces the bundle's connection at `index`.
    /// - Parameter leaseTime: the time leases are judged by: the import's, plus how long it has waited for them.
    /// - Returns: whether it replaced one, and what it kept of the stored one when the file's tokens are the ones
    ///   last imported and tokentop has renewed them since (``StoredForImport/keepsRenewedTokens(_:)``).
    /// - Throws: ``ImportError`` when the stored connection of that id may not be replaced by this entry;
    ///   ``RefreshInFlight`` when another process holds its refresh lease, before anything of it is written.
    func saveConnection(
        _ bundle: ImportBundle, _ index: Int, at: Date, leaseTime: Date
    ) throws -> (replaced: Bool, kept: String?) {
        let entry = bundle.connections[index]
        let stored = try storedForImport(entry.id)
        // Writing now would bump the generation under the refresher, whose result (a rotated refresh token, maybe)
        // would then be refused: the import waits for it outside the transaction, and runs again.
        if let stored, let holder = Self.liveLease(stored.leaseOwner, until: stored.leaseUntil, now: leaseTime),
            let until = stored.leaseUntil
        {
            throw RefreshInFlight(index: index, connectionID: entry.id, owner: holder, until: until)
        }
        if let stored { try checkReplaceable(stored, by: bundle, index) }
        // A connection of this id deleted before keeps its dead tokens' fingerprints: they stay dead.
        if entry.accessToken != nil || entry.refreshToken != nil {
            for dead in try deletedDeadTokens(entry.id) { try refuseDeadTokens(dead, by: bundle, index) }
        }
        if let setAt = entry.secretSetAt, let problem = ImportFile.secretSetAtProblem(setAt, at: at) {
            throw ImportError(
                file: bundle.source, entry: bundle.connectionLabel(index), field: "secret_set_at", problem: problem)
        }
        // The secret's age is the age of the secret, not of the file's last import: the same key keeps its own.
        let unchanged = entry.accessToken.map { $0.fingerprint == stored?.accessFingerprint } ?? false
        let secretSetAt =
            entry.accessToken == nil ? nil : entry.secretSetAt ?? (unchanged ? stored?.secretSetAt : nil) ?? at
        var connection = Connection(
            id: entry.id, integrationID: entry.integrationID, scope: entry.scope, subject: entry.subject,
            credential: entry.credential, grant: entry.grant, grantedScopes: entry.grantedScopes,
            accessFingerprint: entry.accessToken?.fingerprint, refreshFingerprint: entry.refreshToken?.fingerprint,
            // The import is the start of the token's lifetime as far as tokentop can know.
            issuedAt: entry.accessToken == nil ? nil : at, expiresAt: entry.expiry(importedAt: at),
            createdAt: stored?.createdAt ?? at, parentID: entry.parentID, workspace: entry.workspace,
            members: entry.members, secretSetAt: secretSetAt)
        // What the file brings is recorded whether or not it is stored: the next run of the same file is then
        // known for what it is.
        let imported: [any SQLBindable] = [entry.accessToken?.fingerprint, entry.refreshToken?.fingerprint]
        let importedAssignments = "imported_access_fingerprint = ?, imported_refresh_fingerprint = ?"
        // A stored row that cannot be read (``UnreadableConnection``) is repaired from the file, its renewed tokens
        // kept: importing the credential again is what its message advises, and this refused with the same message.
        let renewed = stored.map { $0.keepsRenewedTokens(entry) } == true ? try readableConnection(entry.id) : nil
        if let stored, case .failure? = renewed {
            connection.accessFingerprint = stored.accessFingerprint
            connection.refreshFingerprint = stored.refreshFingerprint
            // The renewed token's expiry is not the file's, and the stored one may be what cannot be read: taken as
            // now, so that the connection is due at once and its next refresh learns it. (Left unknown, it was
            // never due: nothing refreshed it, and it read healthy until its token ran out.)
            connection.issuedAt = nil
            connection.expiresAt = at
            let assignments = Self.factColumns.map { "\($0) = ?" }.joined(separator: ", ")
            try database.execute(
                "UPDATE connections SET \(assignments), \(importedAssignments) WHERE id = ?",
                try factValues(connection) + imported + [connection.id])
            try markChanged(entry.id)
            return (true, stored.keptNote(connection) + "; its stored row could not be read, and was repaired")
        }
        if let stored, case .success(let current)? = renewed {
            // The file's tokens are the ones tokentop replaced: the stored, newer ones stay, with all that describes
            // them (grant, expiry, scopes granted, how their last renewal went); the rest is the file's.
            connection.grant = current.grant
            connection.grantedScopes = current.grantedScopes
            connection.accessFingerprint = current.accessFingerprint
            connection.refreshFingerprint = current.refreshFingerprint
            connection.issuedAt = current.issuedAt
            connection.expiresAt = current.expiresAt
            connection.expiryAssumed = current.expiryAssumed
            connection.lastRefreshAt = current.lastRefreshAt
            connection.failures = current.failures
            connection.lastError = current.lastError
            connection.retryAt = current.retryAt
            connection.reauthReason = current.reauthReason
            connection.secretSetAt = entry.secretSetAt ?? current.secretSetAt
            let assignments = Self.factColumns.map { "\($0) = ?" }.joined(separator: ", ")
            try database.execute(
                "UPDATE connections SET \(assignments), \(importedAssignments) WHERE id = ?",
                try factValues(connection) + imported + [connection.id])
            try markChanged(entry.id)
            return (true, stored.keptNote(current))
        }
        let access = try entry.accessToken.map { try secrets.seal($0, context: Self.accessTokenContext(entry.id)) }
        let refresh = try entry.refreshToken.map {
            try secrets.seal($0, context: Self.refreshTokenContext(entry.id))
        }
        let values = try factValues(connection) + imported + [access, refresh, connection.id]
        if stored == nil {
            let columns = Self.factColumns.joined(separator: ", ")
            let marks = Array(repeating: "?", count: values.count).joined(separator: ", ")
            try database.execute(
                """
                INSERT INTO connections (\(columns), imported_access_fingerprint, imported_refresh_fingerprint,
                    access_token, refresh_token, id)
                VALUES (\(marks))
                """, values)
        } else {
            let assignments = Self.factColumns.map { "\($0) = ?" }.joined(separator: ", ")
            try database.execute(
                "UPDATE connections SET \(assignments), \(importedAssignments), access_token = ?, refresh_token = ? "
                    + "WHERE id = ?", values)
        }
        try markChanged(entry.id)
        return (stored != nil, nil)
    }

    /// Refuses to replace `stored` with the bundle's connection at `index` when that would destroy another
    /// credential (an id the file did not give, made from the integration and the subject, that names a connection
    /// of another identity), or bring a revoked token back to life.
    private func checkReplaceable(_ stored: StoredForImport, by bundle: ImportBundle, _ index: Int) throws {
        let entry = bundle.connections[index]
        let sameIdentity =
            stored.integrationID == entry.integrationID && stored.scope == entry.scope.rawValue
            && stored.subject == entry.subject
        if entry.idDerived, !sameIdentity {
            throw ImportError(
                file: bundle.source, entry: bundle.connectionLabel(index), field: "id",
                problem: "missing, and the id made from the integration and the subject, "
                    + "\(ImportError.quoted(entry.id)), already names another connection in the database \(path) "
                    + "(integration \(ImportError.quoted(stored.integrationID)), "
                    + "scope \(SafeText.clean(stored.scope)), subject \(ImportError.quoted(stored.subject))), "
                    + "which the import would replace; give this entry an \"id\" of its own (or that id, to "
                    + "replace it on purpose); nothing was imported")
        }
        try refuseDeadTokens(stored.deadTokens, by: bundle, index)
    }

    /// Refuses the bundle's connection at `index` when it brings back a token that `dead` says was revoked, or
    /// that the provider refused: `dead` is the stored connection of its id, or one deleted.
    private func refuseDeadTokens(_ dead: DeadTokens, by bundle: ImportBundle, _ index: Int) throws {
        let entry = bundle.connections[index]
        // New tokens for a revoked connection restore it (documented); the very token that was revoked must not,
        // or `status` would call a dead credential healthy. Revoking keeps the fingerprints for this.
        if let revokedAt = dead.revokedAt {
            // The tokens it held then, and those it was last imported with (a file run again after tokentop renewed
            // them and the connection was revoked: they come from the same grant).
            let refreshes = [dead.refreshFingerprint, dead.importedRefreshFingerprint].compactMap { $0 }
            let accesses = [dead.accessFingerprint, dead.importedAccessFingerprint].compactMap { $0 }
            let field: String? =
                if let refresh = entry.refreshToken, refreshes.contains(refresh.fingerprint) {
                    "refresh_token"
                } else if let access = entry.accessToken, accesses.contains(access.fingerprint) {
                    entry.credential == .oauth2 ? "access_token" : "secret"
                } else {
                    nil
                }
            if let field {
                let token = Self.tokenName(field)
                let place = dead.revokedAtProvider ? "at the provider and here" : "here"
                throw ImportError(
                    file: bundle.source, entry: bundle.connectionLabel(index), field: field,
                    problem: "was this connection's \(token) before it was revoked \(place) at "
                        + "\(RFC3339.string(from: revokedAt)); a revoked \(token) is not imported again: a new one is "
                        + "needed\(Self.signInHint(entry)); nothing was imported")
            }
        } else if let reason = dead.reauthReason {
            // The provider refused the stored refresh token (or key): the same one again would read as healthy,
            // and `status` would say OK, until the next refresh is refused once more.
            let field: String? =
                if let refresh = entry.refreshToken, refresh.fingerprint == dead.refreshFingerprint {
                    "refresh_token"
                } else if entry.refreshToken == nil, let access = entry.accessToken,
                    access.fingerprint == dead.accessFingerprint
                {
                    entry.credential == .oauth2 ? "access_token" : "secret"
                } else {
                    nil
                }
            if let field {
                let state = dead.deleted ? "needed re-auth when it was deleted" : "needs re-auth"
                throw ImportError(
                    file: bundle.source, entry: bundle.connectionLabel(index), field: field,
                    problem: "is the \(Self.tokenName(field)) the provider refused (this connection \(state): "
                        + "\(SafeText.clean(reason))); it is not imported again: a new one is needed"
                        + "\(Self.signInHint(entry)); nothing was imported")
            }
        }
    }

    /// A refused field as a message names it: `refresh token`, `access token`, `secret`.
    private static func tokenName(_ field: String) -> String { field.replacingOccurrences(of: "_", with: " ") }

    /// How a user connection gets a new token, for a refusal of a dead one; nothing for the other scopes.
    private static func signInHint(_ entry: ImportBundle.ConnectionEntry) -> String {
        entry.scope == .user ? " (the user signs in again: `tokentop reauth ID`)" : ""
    }
}
