import Foundation

extension Engine {
    /// Runs `body` with this process counted among the store's running refreshers, as a dashboard or a daemon is:
    /// its heartbeat is written before `body` starts and every second until it ends, then removed.
    ///
    /// For `tokentop refresh`, which may store new tokens without the refresh loop, and `tokentop revoke`, which
    /// stores and audits what the provider answered: while they run, `tokentop rekey` refuses, naming them, instead
    /// of changing the key under a refresh whose answer may carry a rotated refresh token that could then not be
    /// stored, or under a revocation whose audit entry could then not be written. A read-only process stores nothing
    /// and registers nothing.
    /// - Parameter label: what the process does, in its name (`host:pid:refresh-1a2b3c4d`).
    public func whileRegistered<T>(as label: String, _ body: () async throws -> T) async rethrows -> T {
        guard !readOnly else { return try await body() }
        let owner = LeaseOwner.make(label: label)
        let store = store
        let clock = timeSource
        // The first beat waits out another process's lock as any write does: rekey must see it before a request
        // leaves. Should it fail all the same, the command goes on; storing its result finds a changed key, and
        // the connection's history says so.
        try? store.heartbeat(owner: owner, at: clock.now(), briefly: false)
        let beating = Task.detached {
            while true {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { return }
                try? store.heartbeat(owner: owner, at: clock.now())
            }
        }
        do {
            let value = try await body()
            await unregister(owner, beating)
            return value
        } catch {
            await unregister(owner, beating)
            throw error
        }
    }

    /// Stops the heartbeat of `owner` and removes its entry, once no beat can write it again.
    private func unregister(_ owner: String, _ beating: Task<Void, Never>) async {
        beating.cancel()
        await beating.value
        try? store.removeHeartbeat(owner: owner, briefly: true)
    }
}
