import Foundation

/// One connection that ``Store/deleteConnections(_:force:user:at:)`` removed.
public struct DeletedConnection: Sendable, Equatable {
    public var id: String
    /// Whether `force` let it go while it held a live token, which stays valid at the provider until it expires.
    public var forced: Bool
    /// How many history entries went with it.
    public var historyEntries: Int
}

extension Store {
    /// Deletes the connections `ids` names, with their history, in one transaction, auditing each; or, when any of
    /// them is refused, deletes nothing and names every refusal.
    ///
    /// A connection is refused when no connection has its id; when it is not revoked and still holds a live token
    /// (a refresh token, or an access token or key not known to have expired), unless `force`: deleting it here does
    /// not end it at the provider; and when connections derive their tokens from it (their `parent`) that `ids`
    /// does not name as well. Each deleted connection leaves one `deleted` entry in the history, which other
    /// processes' event panes and logs read, and a row in `deleted_connections` that their change feed reads, so
    /// that a running dashboard or daemon drops it. That row also keeps whether its tokens were revoked or refused
    /// by the provider, and their fingerprints, so that an import refuses them again (``DeadTokens``).
    /// - Returns: what went, in the order of `ids` (each id once).
    /// - Throws: ``StoreError`` `.unknownConnection` when the only refusals are unknown ids, `.refused` for any other
    ///   refusal, or a database error; nothing is then written.
    @discardableResult
    public func deleteConnections(
        _ ids: [String], force: Bool, user: String, at: Date
    ) throws -> [DeletedConnection] {
        var seen: Set<String> = []
        let ids = ids.filter { seen.insert($0).inserted }
        return try locked {
            try database.transaction {
                var unknown: [String] = []
                var live: [String] = []
                var parents: [(id: String, children: [String])] = []
                var forced: Set<String> = []
                for id in ids {
                    // Locked on PostgreSQL until the commit: a refresher's claim cannot slip in between.
                    let row = try database.query(
                        "SELECT revoked_at, access_token IS NOT NULL, refresh_token IS NOT NULL, expires_at, "
                            + "reauth_reason FROM connections WHERE id = ?" + database.dialect.lockRows, [id]
                    ) { ($0.date(0), $0.bool(1), $0.bool(2), $0.date(3), $0.string(4)) }.first
                    guard let (revokedAt, hasAccess, hasRefresh, expiresAt, reauthReason) = row else {
                        unknown.append(id)
                        continue
                    }
                    // A refresh token the provider refused (invalid_grant) renews nothing; an access token past its
                    // expiry opens nothing.
                    let liveRefresh = hasRefresh && reauthReason == nil
                    let liveAccess = hasAccess && (expiresAt.map { $0 > at } ?? true)
                    if revokedAt == nil, liveRefresh || liveAccess {
                        if force { forced.insert(id) } else { live.append(id) }
                    }
                    let children = try database.query(
                        "SELECT id FROM connections WHERE parent_id = ? ORDER BY id", [id]
                    ) { $0.string(0) ?? "" }.filter { !seen.contains($0) }
                    if !children.isEmpty { parents.append((id, children)) }
                }
                if let refusal = deleteRefusal(unknown: unknown, live: live, parents: parents) { throw refusal }
                var deleted: [DeletedConnection] = []
                for id in ids {
                    deleted.append(try removeConnection(id, forced: forced.contains(id), user: user, at: at))
                }
                return deleted
            }
        }
    }

    /// Deletes the integrations `ids` names, in one transaction, auditing each; or, when any of them is unknown or
    /// still used by a connection, deletes nothing and names every refusal.
    /// - Returns: the ids deleted, each once, in the order given.
    /// - Throws: ``StoreError`` `.unknownIntegration` when the only refusals are unknown ids, `.refused` when a
    ///   connection still uses one, or a database error; nothing is then written.
    public func deleteIntegrations(_ ids: [String], user: String, at: Date) throws -> [String] {
        var seen: Set<String> = []
        let ids = ids.filter { seen.insert($0).inserted }
        return try locked {
            try database.transaction {
                var unknown: [String] = []
                var used: [String] = []
                for id in ids {
                    guard try integrationExists(id) else {
                        unknown.append(id)
                        continue
                    }
                    let users = try database.query(
                        "SELECT id FROM connections WHERE integration_id = ? ORDER BY id LIMIT 4", [id]
                    ) { $0.string(0) ?? "" }
                    guard !users.isEmpty else { continue }
                    let count =
                        try database.query(
                            "SELECT count(*) FROM connections WHERE integration_id = ?", [id]
                        ) { $0.int(0) }.first ?? 0
                    used.append(
                        "integration \(id) is used by \(counted(count, "connection", "connections")) ("
                            + Self.listed(users, of: count) + "); delete \(count == 1 ? "it" : "them") first")
                }
                guard unknown.isEmpty, used.isEmpty else {
                    var reasons = used
                    if !unknown.isEmpty {
                        let named = unknown.count == 1 ? "no integration named" : "no integrations named"
                        let names = unknown.map(SafeText.name).joined(separator: ", ")
                        reasons.insert("\(named) \(names) in \(path)", at: 0)
                    }
                    throw StoreError(
                        used.isEmpty ? .unknownIntegration : .refused,
                        reasons.joined(separator: "; ") + "; nothing was deleted; `tokentop show ID` names a "
                            + "connection's integration", path: path)
                }
                for id in ids {
                    try database.execute("DELETE FROM integrations WHERE id = ?", [id])
                    try insertAudit(
                        action: .delete, target: id, outcome: "ok",
                        detail: "integration \(id) deleted, with its client secret; no connection used it",
                        user: user, at: at)
                }
                return ids
            }
        }
    }

    // MARK: - Helpers

    /// Up to how many live connections a refused deletion advises one by one; how many it names when there are
    /// more (the rest are counted).
    static let advisedOneByOne = 3
    static let namedInRefusal = 10

    /// The one error that names every reason a deletion was refused, or nil when nothing was.
    private func deleteRefusal(
        unknown: [String], live: [String], parents: [(id: String, children: [String])]
    ) -> StoreError? {
        var reasons: [String] = []
        if !unknown.isEmpty {
            let named = unknown.count == 1 ? "no connection named" : "no connections named"
            reasons.append("\(named) \(unknown.map(SafeText.name).joined(separator: ", ")) in \(path)")
        }
        if live.count <= Self.advisedOneByOne {
            for raw in live {
                let id = SafeText.name(raw)
                // One whose row cannot be read cannot be revoked either: the advice is what can be done.
                if case .failure? = try? readableConnection(raw) {
                    reasons.append(
                        "\(id) is not revoked and holds a live token, and its row cannot be read, so it cannot be "
                            + "revoked (`tokentop show \(id)` says why): import it again and revoke it, or --force to "
                            + "delete it without telling the provider")
                    continue
                }
                reasons.append(
                    "\(id) is not revoked and holds a live token: revoke it first with `tokentop revoke \(id)`, "
                        + "or --force to delete it without telling the provider")
            }
        } else {
            // Said once for all of them: 500 ids each with its own advice made one line of 60 KB.
            let shown = live.prefix(Self.namedInRefusal).map(SafeText.name).joined(separator: ", ")
            let more = live.count > Self.namedInRefusal ? " (and \(live.count - Self.namedInRefusal) more)" : ""
            reasons.append(
                "\(live.count) connections are not revoked and hold live tokens: \(shown)\(more); revoke them first "
                    + "with `tokentop revoke ID…`, or --force to delete them without telling the provider")
        }
        for (id, children) in parents {
            let they = children.count == 1 ? "it" : "them"
            reasons.append(
                "\(children.joined(separator: ", ")) \(children.count == 1 ? "derives its" : "derive their") "
                    + "tokens from \(id): name \(they) too to delete \(they) with \(id)")
        }
        guard !reasons.isEmpty else { return nil }
        let hint = live.isEmpty && parents.isEmpty ? "; `tokentop list` shows the ids" : ""
        return StoreError(
            live.isEmpty && parents.isEmpty ? .unknownConnection : .refused,
            reasons.joined(separator: "; ") + "; nothing was deleted" + hint, path: path)
    }

    /// Deletes one checked connection and its history, leaving its tombstone, one `deleted` history entry and an
    /// audit entry; the caller holds the lock and a transaction.
    private func removeConnection(_ id: String, forced: Bool, user: String, at: Date) throws -> DeletedConnection {
        let history =
            try database.query("SELECT count(*) FROM history WHERE connection_id = ?", [id]) {
                $0.int(0)
            }.first ?? 0
        let how =
            forced
            ? "forced with --force: it was not revoked, and its token stays valid at the provider until it expires"
            : "not forced"
        // Written before the entries it replaces are deleted, so that it takes the next number: SQLite numbers a new
        // row after the largest left, and would otherwise hand out again a number that followers of the history
        // have read, and pass over what is written under it.
        try insertHistory(HistoryEntry(at: at, connectionID: id, kind: .deleted, message: "deleted (\(how))"))
        try database.execute(
            "DELETE FROM history WHERE connection_id = ? "
                + "AND id < (SELECT MAX(id) FROM history WHERE connection_id = ?)", [id, id])
        try database.execute(
            """
            INSERT INTO deleted_connections (change_seq, id, at, \(DeadTokens.columns))
            SELECT (\(Self.latestChangeQuery)) + 1, id, ?, \(DeadTokens.columns) FROM connections WHERE id = ?
            """, [at, id])
        try database.execute("DELETE FROM connections WHERE id = ?", [id])
        let entries = counted(history, "history entry", "history entries")
        try insertAudit(
            action: .delete, target: id, outcome: "ok",
            detail: "connection \(id) deleted (\(how)); \(entries) deleted "
                + "with it", user: user, at: at)
        return DeletedConnection(id: id, forced: forced, historyEntries: history)
    }

    /// The first few of `ids`, and how many more of `count` there are.
    private static func listed(_ ids: [String], of count: Int) -> String {
        let shown = ids.prefix(3).joined(separator: ", ")
        return count > 3 ? "\(shown) and \(count - 3) more" : shown
    }
}
