import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Checks static credentials (API keys, basic auth, bot tokens) against their integration's probe URL, on a schedule
/// and on demand, beside the refresh actor.
///
/// A probe is one GET with the credential where the integration says it goes; redirects are not followed, and a
/// probe that gets no answer within the policy's timeout is a failure. The result is stored with the connection
/// (``Connection/probe``), with a history entry when the outcome changes; a 401 or 403 means the provider refused
/// the credential, which turns the connection `needs-reauth`: someone must issue a new key and import it.
actor Prober {
    private let store: Store
    private let transport: any HTTPTransport
    private let clock: any TimeSource
    private let policy: ProbePolicy
    private let state: EngineState
    private var queue = DueQueue()
    /// Each id's time in `queue`, so that a rescan that finds it unchanged pushes nothing onto the heap.
    private var scheduled: [String: Date] = [:]
    private var inFlight: Set<String> = []
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Probes the loop started, which stopping waits for.
    private var running: [UUID: Task<Void, Never>] = [:]
    /// The snapshot version the schedule was last built from, and when.
    private var scannedVersion: UInt64?
    private var lastScan = Date.distantPast
    /// The longest the loop sleeps, so that a new schedule is picked up promptly.
    private let maximumNap = 0.5
    /// How often the schedule is compared with the snapshot, for connections another process imported or changed.
    ///
    /// The comparison walks every connection, so it runs this rarely and only when the snapshot changed; the due
    /// times themselves sit in a ``DueQueue`` and a quiet tick costs nothing.
    private let rescanInterval = 15.0

    /// What one probe came to.
    enum Attempt: Sendable {
        /// The connection afterwards (unchanged when it was not probed after all).
        case done(Connection?)
        /// The database could not be read or written; nothing was recorded.
        case storageFailed(String)
    }

    init(store: Store, transport: any HTTPTransport, clock: any TimeSource, policy: ProbePolicy, state: EngineState) {
        self.store = store
        self.transport = transport
        self.clock = clock
        self.policy = policy
        self.state = state
    }

    /// Probes due connections until the task is cancelled, then waits for those in flight.
    func run() async {
        while !Task.isCancelled {
            let now = clock.now()
            if scannedVersion == nil || now.timeIntervalSince(lastScan) >= rescanInterval || now < lastScan {
                reschedule(now: now)
            }
            while inFlight.count < policy.concurrency, let id = queue.popDue(at: now) {
                scheduled[id] = nil
                guard !inFlight.contains(id) else { continue }
                inFlight.insert(id)
                track(Task { _ = await self.perform(id, requested: false) })
            }
            let nap = queue.nextDue().map { min(maximumNap, max(0.01, $0.timeIntervalSince(now))) } ?? maximumNap
            do { try await clock.sleep(seconds: nap) } catch { break }
        }
        while !running.isEmpty {
            let tasks = running
            for task in tasks.values { await task.value }
            for id in tasks.keys { running[id] = nil }
        }
    }

    // FIXME: learns of connections another process imported by walking the snapshot every 15 s when it changed; a
    // feed of changed ids from the refresh actor's store sync would spare the walk at 100,000 connections.
    /// Puts every probed connection's due time into the queue when the snapshot changed since the last look.
    private func reschedule(now: Date) {
        lastScan = now
        let snapshot = state.snapshot()
        guard snapshot.version != scannedVersion else { return }
        scannedVersion = snapshot.version
        for connection in snapshot.connections
        where ProbePolicy.probedCredentials.contains(connection.credential) && !inFlight.contains(connection.id) {
            let integration = snapshot.integrations[connection.integrationID]
            schedule(connection.id, at: policy.dueAt(connection, integration: integration))
        }
    }

    /// Puts `id` in the queue at `due` (nil takes it out), unless it is there at that time already.
    private func schedule(_ id: String, at due: Date?) {
        guard scheduled[id] != due else { return }
        scheduled[id] = due
        queue.schedule(id, at: due)
    }

    private func track(_ task: Task<Void, Never>) {
        let id = UUID()
        running[id] = task
        Task {
            await task.value
            self.running[id] = nil
        }
    }

    /// Probes `id` now, or waits for the probe already in flight; returns the connection afterwards.
    /// - Throws: ``EngineError`` when the connection is unknown, revoked, or not something a probe can check.
    func probeNow(_ id: String) async throws -> Connection {
        guard let connection = state.connection(id) else {
            throw EngineError(.unknownConnection, "no connection named \(SafeText.name(id)) in \(store.path)")
        }
        if connection.revokedAt != nil {
            throw EngineError(.notRenewable, "\(id) is revoked; import a new credential to restore it")
        }
        let integration = state.integration(connection.integrationID)
        guard policy.isProbed(connection, integration: integration) else {
            throw EngineError(.notRenewable, Self.notProbedReason(connection, integration: integration))
        }
        if inFlight.contains(id) {
            await withCheckedContinuation { waiters[id, default: []].append($0) }
            return state.connection(id) ?? connection
        }
        inFlight.insert(id)
        switch await perform(id, requested: true) {
        case .done(let after): return after ?? state.connection(id) ?? connection
        case .storageFailed(let problem):
            throw EngineError(.storage, "\(id) was probed but not recorded: database problem: \(problem)")
        }
    }

    /// Why `refresh` cannot do anything for a credential that does not expire.
    static func notProbedReason(_ connection: Connection, integration: Integration?) -> String {
        let id = connection.id
        let kind = connection.credential.rawValue
        if connection.credential == .appKey {
            return "\(id) holds an app_key credential, which does not expire; a private key is never sent anywhere "
                + "to check it"
        }
        if connection.accessFingerprint == nil {
            return "\(id) holds no \(kind) secret to check; import it again with its secret"
        }
        return "\(id) holds \(connection.credential.withArticle) credential, which does not expire; its integration "
            + "\(connection.integrationID) has no probe_url to check it against (add one and import it again)"
    }

    // MARK: - One probe

    /// Probes one connection and records the outcome; the caller has put `id` in flight.
    ///
    /// - Parameter requested: whether an operator asked for it; then the outcome is always an event, even when it
    ///   did not change, and a connection another process probed a moment ago is probed anyway.
    private func perform(_ id: String, requested: Bool) async -> Attempt {
        defer { finish(id) }
        let now = clock.now()
        guard let connection = state.connection(id) else { return .done(nil) }
        let integration = state.integration(connection.integrationID)
        guard policy.isProbed(connection, integration: integration), let integration,
            let url = integration.probeURL
        else {
            schedule(id, at: nil)
            return .done(connection)
        }
        if !requested, let due = policy.dueAt(connection, integration: integration), due > now {
            // Another process probed it since this one was scheduled: take its result and wait for the next turn.
            schedule(id, at: due)
            return .done(connection)
        }
        let secret: Secret?
        do {
            secret = try store.tokenSecrets(connectionID: id).access
        } catch {
            return storageFailure(error, id: id)
        }
        guard let secret else {
            schedule(id, at: nil)
            return .done(connection)
        }
        let verdict: ProbeVerdict
        switch ProbeRequest.make(
            url: url, credential: connection.credential, secret: secret, placement: integration.apiKeyPlacement)
        {
        case .failure(let problem):
            verdict = ProbeVerdict(outcome: .failed, detail: problem.message, status: nil)
        case .success(let request):
            verdict = await send(request)
        }
        let finished = clock.now()
        let reason =
            verdict.outcome == .rejected
            ? "the provider rejected the \(connection.credential.rawValue) credential at its probe URL "
                + "(\(verdict.detail)); a new one must be issued and imported"
            : nil
        let record: Store.ProbeRecord?
        do {
            record = try store.recordProbe(
                connectionID: id, verdict: verdict, fingerprint: connection.accessFingerprint, rejectedReason: reason,
                at: finished)
        } catch {
            return storageFailure(error, id: id)
        }
        guard let record else {
            // Revoked or imported again while the probe was out: that write stands, and this result is dropped.
            if let current = try? store.connection(id: id) {
                state.update(current, event: nil)
                schedule(id, at: policy.dueAt(current, integration: integration))
            }
            return .done(state.connection(id))
        }
        var event = record.entry
        if event == nil, requested {
            // Unchanged, so not history; but the operator asked, and the answer belongs in the event pane.
            event = Store.historyEntry(
                verdict, connectionID: id, rejectedReason: reason, cleared: false, at: finished)
        }
        state.update(record.connection, event: event)
        schedule(id, at: policy.dueAt(record.connection, integration: integration))
        return .done(record.connection)
    }

    /// Sends the probe, giving up after the policy's timeout (real seconds: it bounds a network wait).
    private func send(_ probe: ProbeRequest) async -> ProbeVerdict {
        let transport = transport
        let timeout = policy.timeout
        let request = probe.request
        let outcome: Result<HTTPResponse, any Error>? = await withTaskGroup(
            of: Result<HTTPResponse, any Error>?.self
        ) { group in
            group.addTask {
                do { return .success(try await transport.send(request)) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
        switch outcome {
        case .success(let response)?: return ProbeVerdict.answer(response, request: probe)
        case .failure(let error)?: return ProbeVerdict.noAnswer(error, timeout: timeout)
        case nil: return ProbeVerdict.noAnswer(URLError(.timedOut), timeout: timeout)
        }
    }

    /// A store that cannot be read or written: show the problem, and look again after a while.
    private func storageFailure(_ error: any Error, id: String) -> Attempt {
        if (error as? StoreError)?.code == .unknownConnection {
            // Deleted by an operator while the probe was out: no database problem, and nothing left to probe. The
            // refresh actor's store sync takes it out of the state.
            schedule(id, at: nil)
            return .done(nil)
        }
        let now = clock.now()
        state.setNotice("database problem: \(error)")
        state.append(
            event: HistoryEntry(
                at: now, connectionID: id, kind: .probeFailed, message: "probe not recorded, database problem: \(error)"
            ))
        schedule(id, at: now.addingTimeInterval(60))
        return .storageFailed("\(error)")
    }

    private func finish(_ id: String) {
        inFlight.remove(id)
        for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume() }
    }
}
