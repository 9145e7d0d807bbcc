import Foundation

/// An event an operator's `--on-event` command hears about: a refresh failed, a connection needs re-auth, was
/// revoked, or recovered after failing. Built from the actor's history entries; never carries a secret.
public struct HookEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable {
        case refreshFailed = "refresh_failed"
        case needsReauth = "needs_reauth"
        case revoked
        case recovered
        /// A static credential's probe failed (a 401 or 403 also makes it need re-auth).
        case probeFailed = "probe_failed"
    }

    public var kind: Kind
    public var entry: HistoryEntry
    public var connection: Connection?
    public var provider: String?
    public var status: ConnectionStatus?

    /// The event as one JSON object, as the command reads it on standard input.
    public var json: String {
        var writer = JSONWriter()
        let error: [(String, JSONWriter.Value)]? = entry.error.map {
            [("error", .string($0.error)), ("status", .int($0.status))]
        }
        let about: [(String, JSONWriter.Value)]? = connection.map { connection in
            [
                ("id", .string(connection.id)), ("integration", .string(connection.integrationID)),
                ("provider", .string(provider)), ("scope", .string(connection.scope.rawValue)),
                ("status", .string(status?.rawValue)), ("subject", .string(connection.subject)),
            ]
        }
        writer.object([
            ("at", .string(RFC3339.string(from: entry.at))), ("connection", .object(about)),
            ("connection_id", .string(entry.connectionID)), ("detail", .string(entry.message)),
            ("error", .object(error)), ("event", .string(kind.rawValue)),
        ])
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

/// Turns history entries into hook events, remembering which connections were in trouble so that the next
/// success reads as `recovered`.
public struct HookEventFilter: Sendable {
    private var troubled: Set<String>

    /// Starts with the connections `snapshot` shows failing or needing re-auth.
    public init(_ snapshot: DashboardSnapshot) {
        troubled = Set(snapshot.connections.filter { $0.failures > 0 || $0.reauthReason != nil }.map(\.id))
    }

    /// The event `entry` stands for, or nil for entries no hook hears about (imports, another process's work).
    /// - Parameter lookup: the connection by id, from an index (a scan of 100,000 rows per event would not do).
    public mutating func event(
        for entry: HistoryEntry, in snapshot: DashboardSnapshot, at now: Date, lookup: (String) -> Connection?
    ) -> HookEvent? {
        guard !entry.byAnotherProcess else { return nil }
        let kind: HookEvent.Kind
        switch entry.kind {
        case .refreshFailed:
            troubled.insert(entry.connectionID)
            kind = .refreshFailed
        case .needsReauth:
            troubled.insert(entry.connectionID)
            kind = .needsReauth
        case .revoked:
            troubled.remove(entry.connectionID)
            kind = .revoked
        case .probeFailed:
            troubled.insert(entry.connectionID)
            kind = .probeFailed
        case .refreshed, .probeOK, .reauthorized:
            guard troubled.remove(entry.connectionID) != nil else { return nil }
            kind = .recovered
        case .imported, .reauthRequested, .reauthFailed, .revocationFailed, .deleted:
            // A sign-in or revocation that did not finish leaves the connection as it was; the operator who asked
            // for it was told, and its trouble was told already. A deletion leaves nothing to tell about.
            return nil
        }
        let connection = lookup(entry.connectionID)
        return HookEvent(
            kind: kind, entry: entry, connection: connection,
            provider: connection.flatMap { snapshot.integrations[$0.integrationID]?.provider },
            status: connection.map { snapshot.status(of: $0, at: now) })
    }
}
