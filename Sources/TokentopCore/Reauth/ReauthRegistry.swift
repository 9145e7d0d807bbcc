import Synchronization

/// The re-authorizations an engine runs, at most one per connection.
final class ReauthRegistry: Sendable {
    private struct Sessions {
        var byID: [String: ReauthSession] = [:]
        /// Sessions forgotten while they still ran, kept until they end so that stopping can wait for them.
        var retiring: [ReauthSession] = []
    }

    private let sessions = Mutex(Sessions())

    func session(for id: String) -> ReauthSession? { sessions.withLock { $0.byID[id] } }

    /// Registers the session `make` builds, unless one for `id` is still running: that one is returned instead.
    func insert(for id: String, _ make: () throws(ReauthFailure) -> ReauthSession) throws(ReauthFailure) -> (
        session: ReauthSession, isNew: Bool
    ) {
        try sessions.withLock { sessions throws(ReauthFailure) in
            if let running = sessions.byID[id], !running.progress.isFinished { return (running, false) }
            let session = try make()
            sessions.byID[id] = session
            return (session, true)
        }
    }

    /// Forgets the session of `id` and returns it.
    @discardableResult
    func remove(_ id: String) -> ReauthSession? {
        sessions.withLock { sessions in
            sessions.retiring.removeAll { $0.progress.isFinished }
            guard let session = sessions.byID.removeValue(forKey: id) else { return nil }
            if !session.progress.isFinished { sessions.retiring.append(session) }
            return session
        }
    }

    /// Every session, running or finished, forgotten ones that still run included.
    func all() -> [ReauthSession] { sessions.withLock { Array($0.byID.values) + $0.retiring } }
}
