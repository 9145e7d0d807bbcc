import Foundation
import Synchronization

/// The core's one entry point for the dashboard, the daemon and the CLI.
///
/// It owns the store, the refresh actor and the live state. Its non-async members never wait on the network or
/// the disk: commands from the front end run on the actor, and their results arrive in later snapshots.
public final class Engine: Sendable {
    public let store: Store
    public let timeSource: any TimeSource
    /// The refresh policy in force; ``apply(policy:)`` changes it.
    public var policy: RefreshPolicy { state.snapshot().policy }
    /// The operator whose commands the audit log attributes.
    public let user: String
    /// Whether this process only watches: no refresh, revocation or re-auth, by the actor or an operator.
    public let readOnly: Bool
    /// The refresh actor's counters, for `--metrics`.
    public let metrics = RefreshMetrics()
    let state: EngineState
    let actor: RefreshActor
    /// The OAuth client the refresh actor and re-authorizations share.
    let client: OAuthClient
    /// Users' sign-ins in progress (see `Engine+Reauth.swift`).
    let reauths = ReauthRegistry()
    /// Checks static credentials against their integration's probe URL.
    let prober: Prober
    private let loop = LoopHandle()
    private let probeLoop = LoopHandle()
    /// Work started for the front end (refreshes, revocations, audit entries) that stopping waits for.
    private let pending = Mutex<[UUID: Task<Void, Never>]>([:])
    /// Closed when a stop begins, after which no refresh sends a request.
    private let gate = StopGate()
    /// Set by an operator's Ctrl-C during a revocation.
    private let revocationInterrupt = RevocationInterrupt()
    /// The refreshes an operator asked for (``refresh(_:)``) that a stop turned away before their request left,
    /// each with its place among the requests, and the count of requests so far.
    private let turnedAway = Mutex<(asked: Int, ids: [(order: Int, id: String)])>((0, []))
    /// How many of an operator's refreshes (``refreshNow(_:)``) of each connection wait for their outcome.
    private let operatorRefreshes = Mutex<[String: Int]>([:])

    /// Loads the store's connections and prepares the refresh actor; nothing runs until ``start()``.
    /// - Parameters:
    ///   - databasePath: the path to show in the header, as the user named it.
    public init(
        store: Store, transport: any HTTPTransport, timeSource: any TimeSource = SystemTimeSource(),
        policy: RefreshPolicy = .standard, databasePath: String? = nil, user: String = OperatorIdentity.current(),
        readOnly: Bool = false, probePolicy: ProbePolicy = .standard
    ) throws {
        self.store = store
        self.readOnly = readOnly
        self.user = user
        self.timeSource = timeSource
        // Read before the rows, so that whatever another process writes (or deletes) from here on comes through the
        // feeds: read after, a change that landed in between was in neither the rows nor the feed.
        let following = (change: try store.latestChange(), history: try store.latestHistoryID())
        let (connections, unreadable) = try store.connectionList()
        state = EngineState(
            databasePath: databasePath ?? store.path, connections: connections, integrations: try store.integrations(),
            events: try store.recentHistory(limit: EngineState.eventLimit), policy: policy, now: timeSource.now(),
            unreadable: unreadable)
        client = OAuthClient(transport: transport, clock: timeSource)
        actor = RefreshActor(
            store: store, client: client, clock: timeSource, policy: policy, state: state, observeOnly: readOnly,
            metrics: metrics, following: following, gate: gate, interrupt: revocationInterrupt)
        prober = Prober(store: store, transport: transport, clock: timeSource, policy: probePolicy, state: state)
        state.setReadOnly(readOnly)
    }

    /// Refuses an operator's change in a read-only process.
    private func checkWritable(_ action: String, _ id: String) throws {
        if readOnly {
            throw EngineError(
                .readOnly,
                "\(id): not \(action): this tokentop runs read-only (--readonly, or readonly in the configuration)")
        }
        // A new token stored in a deleted file is lost, and a rotated refresh token with it: nothing is sent. Nor
        // is a revocation the store could not record.
        if let problem = store.fileProblem() ?? store.readOnlyProblem() {
            throw EngineError(.storage, "\(id): not \(action): \(problem); nothing was sent to the provider")
        }
    }

    /// Starts the background refresh actor.
    public func start() {
        gate.open()
        turnedAway.withLock { $0.ids = [] }
        let actor = actor
        let state = state
        let connections = state.snapshot().connections
        loop.start {
            state.buildIndex()
            await actor.scheduleAll(connections)
            await actor.run()
        }
        // A read-only process checks nothing either: a probe's verdict is a write.
        guard !readOnly else { return }
        let prober = prober
        probeLoop.start { await prober.run() }
    }

    /// What a stop waits for: refreshes whose request left, and revocations in flight.
    public struct InFlight: Sendable, Equatable {
        public var refreshes: Int
        public var revocations: Int
    }

    /// Begins a stop: from now on no refresh sends a request, here or queued for an operator (the schedule picks
    /// those up next time); their leases go back. Returns what the stop waits for.
    ///
    /// Never waits for the actor or the store, so that a stop can say at once what it waits for.
    @discardableResult
    public func beginStop() -> InFlight {
        let (refreshes, revocations) = gate.close()
        // Refreshes waiting for a request slot are turned away now, not when a request in flight answers.
        Task { [actor] in await actor.refuseWaitingRefreshes() }
        return InFlight(refreshes: refreshes, revocations: revocations)
    }

    /// What is in flight now: refreshes whose request left, and revocations.
    public var inFlight: InFlight {
        let (refreshes, revocations) = gate.inFlight
        return InFlight(refreshes: refreshes, revocations: revocations)
    }

    /// Stops waiting for the answers of revocations in flight (Ctrl-C during `tokentop revoke`): each records, in the
    /// connection's history and the audit log, that its request may have reached the provider, gives its lease
    /// back and fails with ``EngineError/Code/interrupted``; revocations not yet sent send nothing.
    public func interruptRevocations() { revocationInterrupt.set() }

    /// Stops the refresh actor after the refreshes in flight finish (none starts once the stop begins, see
    /// ``beginStop()``), cancels users' sign-ins in progress, and finishes writing the audit log.
    public func stop() async {
        beginStop()
        await cancelAllReauths()
        await loop.stop()
        await probeLoop.stop()
        await drainAudit()
    }

    /// Takes a new refresh policy (a reloaded configuration); every connection is rescheduled under it.
    public func apply(policy: RefreshPolicy) async {
        await actor.setPolicy(policy)
    }

    /// The current state; cheap, and never blocks on the network or the disk.
    ///
    /// Before the refresh actor runs (a command such as `status` or `list`, which never starts it), the index by id
    /// is built first: the actor builds it once it starts, after the dashboard's first frame; without it each
    /// derived connection's parent was looked up by a scan, and `list` took 8 s at 100,000 connections.
    public func snapshot() -> DashboardSnapshot {
        if !loop.isStarted { state.buildIndex() }
        return state.snapshot(at: timeSource.now())
    }

    /// Shows `notice` across the dashboard until the next successful refresh replaces it.
    public func post(notice: String) { state.setNotice(notice) }

    /// One connection as the live state has it, found through an index.
    public func connection(_ id: String) -> Connection? { state.connection(id) }

    /// Asks the actor to refresh `ids` now; failures arrive as events.
    public func refresh(_ ids: [String]) {
        let first = turnedAway.withLock { turned in
            defer { turned.asked += ids.count }
            return turned.asked
        }
        for (offset, id) in ids.enumerated() {
            keep(
                Task { [self] in
                    do { _ = try await refreshNow(id) } catch {
                        // Not sent because the dashboard is closing: the screen is gone, so the stop names it once
                        // the terminal is back (``refreshesTurnedAway``).
                        if (error as? EngineError)?.code == .stopped {
                            turnedAway.withLock { $0.ids.append((first + offset, id)) }
                            return
                        }
                        // The event pane shows the id beside the message: "acme-bob  is revoked; …", not twice.
                        let text = "\(error)"
                        let message = text.hasPrefix(id + " ") ? String(text.dropFirst(id.count + 1)) : text
                        state.append(
                            event: HistoryEntry(
                                at: timeSource.now(), connectionID: id, kind: .refreshFailed, message: message))
                    }
                })
        }
    }

    /// The connections whose refresh an operator asked for (``refresh(_:)``) and a stop turned away before the
    /// request left, in the order asked, each once. Complete once ``stop()`` returns.
    public var refreshesTurnedAway: [String] {
        let turned = turnedAway.withLock { $0.ids }.sorted { $0.order < $1.order }
        var seen = Set<String>()
        return turned.map(\.id).filter { seen.insert($0).inserted }
    }

    /// Refreshes one connection and returns it afterwards; its `lastError` tells whether the refresh failed.
    ///
    /// The operator's request and its outcome go to the audit log.
    /// - Throws: ``EngineError`` when the connection is unknown or cannot be renewed.
    public func refreshNow(_ id: String) async throws -> Connection {
        try checkWritable("refreshed", id)
        if let connection = state.connection(id), !connection.credential.expires { return try await probeNow(id) }
        operatorRefreshes.withLock { $0[id, default: 0] += 1 }
        defer {
            operatorRefreshes.withLock { running in
                running[id, default: 1] -= 1
                if running[id] == 0 { running[id] = nil }
            }
        }
        do {
            let connection = try await actor.refreshNow(id)
            let failed = connection.failures > 0 || connection.reauthReason != nil
            let detail = failed ? (connection.lastError?.summary ?? "refresh failed") : "refreshed"
            audit(.refresh, id, failed ? "failed" : "ok", detail)
            return connection
        } catch let error as EngineError where error.code == .stopped {
            // Nothing was done, nor sent: a stop with thousands of refreshes queued must not write as many entries.
            throw error
        } catch {
            audit(.refresh, id, "failed", "\(error)", briefly: Self.metTheDatabase(error))
            throw error
        }
    }

    /// Records the refreshes an operator asked for whose request left and whose outcome is not stored yet, for a
    /// process that ends without waiting for them (a second Ctrl-C): each gets an audit entry (`interrupted`) and a
    /// history entry saying that its request may have reached the provider and a refresh token rotated in its answer
    /// is lost. Without them an abandoned refresh left no trace but the next refresh's note. Each write waits for
    /// another process's lock briefly.
    public func recordRefreshesAbandoned() {
        // Only those whose request left: one that waited for another process's refresh, or for a slot, sent nothing.
        let flying = state.snapshot().inFlight
        let ids = operatorRefreshes.withLock { $0.keys.sorted() }.filter { flying.contains($0) }
        for id in ids {
            let detail =
                "abandoned before its outcome was stored: the request may have reached the provider, and a refresh "
                + "token rotated in its answer is lost"
            audit(.refresh, id, "interrupted", detail, briefly: true)
            try? store.appendHistory(
                HistoryEntry(
                    at: timeSource.now(), connectionID: id, kind: .refreshFailed,
                    message: "refresh interrupted: \(detail)"),
                briefly: true)
        }
    }

    /// Asks the actor to revoke `ids`; results and failures arrive as events.
    public func revoke(_ ids: [String]) {
        for id in ids {
            keep(
                Task { [self] in
                    do { _ = try await revokeNow(id) } catch {
                        // What the provider answered is in the history and the events already.
                        let told: [EngineError.Code] = [.revocationFailed, .revocationIncomplete, .interrupted]
                        if let known = error as? EngineError, told.contains(known.code) { return }
                        state.append(
                            event: HistoryEntry(
                                at: timeSource.now(), connectionID: id, kind: .revocationFailed, message: "\(error)")
                        )
                    }
                })
        }
    }

    /// Revokes one connection: at the provider when it has a revocation endpoint, and always here.
    ///
    /// The operator's request and its outcome go to the audit log.
    /// It first waits for a refresh of `id` in flight, here or in another process, and then revokes what that
    /// refresh stored.
    /// - Parameter waiting: told what the revocation waits for (another process's refresh).
    /// - Returns: the connection afterwards; `revokedAtProvider` says whether the provider was told.
    public func revokeNow(_ id: String, waiting: @escaping @Sendable (String) -> Void = { _ in }) async throws
        -> Connection
    {
        try checkWritable("revoked", id)
        do {
            let connection = try await actor.revoke(id, waiting: waiting)
            let detail = connection.revokedAtProvider ? "revoked at the provider and here" : "revoked here only"
            audit(.revoke, id, "ok", detail)
            return connection
        } catch let error as EngineError where error.code == .revocationIncomplete {
            audit(.revoke, id, "partial", error.message)
            throw error
        } catch let error as EngineError where error.code == .interrupted {
            audit(.revoke, id, "interrupted", error.message)
            throw error
        } catch {
            audit(.revoke, id, "failed", "\(error)", briefly: Self.metTheDatabase(error))
            throw error
        }
    }

    /// Whether an operator's action failed on the database (another process's lock, most often): its failure's
    /// audit entry would meet the same problem, and waits only a moment for it rather than a second busy timeout.
    static func metTheDatabase(_ error: any Error) -> Bool { (error as? EngineError)?.code == .storage }

    /// What a human must do to bring `id` back, or nil for an unknown connection.
    ///
    /// Only computed, never recorded: the detail view shows it on every change of the connection. An operator's
    /// request goes through ``requestReauth(for:)``.
    public func reauthPrompt(for id: String) -> ReauthPrompt? {
        guard let connection = state.connection(id) else { return nil }
        return Self.parentPrompt(for: connection, snapshot: state.snapshot(), at: timeSource.now())
            ?? Self.reauthPrompt(for: connection, at: timeSource.now(), policy: policy)
    }

    /// An operator asked to re-authorize `id` where tokentop cannot sign it in itself (`a` in the dashboard,
    /// `tokentop reauth ID`): the prompt saying who must act, or nil for an unknown connection.
    ///
    /// The request is an operator action, so it goes to the audit log, except in a read-only process, which
    /// writes nothing. Written in the background, because the dashboard asks between two keystrokes;
    /// ``drainAudit()`` waits for it.
    public func requestReauth(for id: String) -> ReauthPrompt? {
        guard let prompt = reauthPrompt(for: id) else { return nil }
        if !readOnly { keep(Task { [self] in audit(.reauth, id, "prompted", prompt.who) }) }
        return prompt
    }

    /// Waits until every refresh, revocation and audit entry started for the front end has finished.
    public func drainAudit() async {
        while true {
            let tasks = pending.withLock { tasks in
                defer { tasks.removeAll() }
                return Array(tasks.values)
            }
            guard !tasks.isEmpty else { return }
            for task in tasks { await task.value }
        }
    }

    /// Remembers `task` until it ends, so that a long session does not pile up finished tasks.
    private func keep(_ task: Task<Void, Never>) {
        let id = UUID()
        pending.withLock { $0[id] = task }
        Task { [self] in
            await task.value
            pending.withLock { $0[id] = nil }
        }
    }

    /// Appends to the audit log; a log that cannot be written shows as the dashboard's notice, unless one is shown
    /// already (a refresh whose rotated token was lost to the same database problem says more).
    /// - Parameter briefly: whether another process's lock is waited for 100 ms only: for an operator who cancelled
    ///   and wants the prompt back, not the busy timeout's 5 s.
    func audit(
        _ action: AuditEntry.Action, _ target: String?, _ outcome: String, _ detail: String, briefly: Bool = false
    ) {
        do {
            try store.appendAudit(
                action: action, target: target, outcome: outcome, detail: detail, user: user, at: timeSource.now(),
                briefly: briefly)
        } catch {
            state.offerNotice("audit log not written: \(error)")
        }
    }

    /// Like ``audit(_:_:_:_:briefly:)``, but an entry that meets a problem that may pass (another process's lock,
    /// a full disk) is written again, with its first time, for up to a minute or until the task is cancelled.
    ///
    /// Each attempt waits for another process's lock 100 ms only, and the pauses between them hold nothing: a
    /// whole busy timeout held the store's own lock for 5 s, and the work beside the entry (a sign-in reading its
    /// client's secret before it shows its URL) waited for it.
    func auditRetrying(_ action: AuditEntry.Action, _ target: String?, _ outcome: String, _ detail: String) async {
        let at = timeSource.now()
        var retry = StoreRetry(from: at)
        while true {
            do {
                _ = try store.appendAudit(
                    action: action, target: target, outcome: outcome, detail: detail, user: user, at: at,
                    briefly: true)
                return
            } catch {
                guard !Task.isCancelled, await retry.wait(after: error, clock: timeSource) else {
                    state.offerNotice("audit log not written: \(error)")
                    return
                }
            }
        }
    }

    /// Builds the re-auth prompt for `connection`.
    public static func reauthPrompt(for connection: Connection, at now: Date, policy: RefreshPolicy) -> ReauthPrompt {
        let who: String
        switch connection.scope {
        case .user: who = "the user \(connection.subject) must sign in again"
        case .org: who = "an admin of \(connection.subject) must grant access again"
        case .delegated: who = "an admin must renew the delegation that lets the app act as \(connection.subject)"
        case .workspace: who = "the owner of workspace \(connection.subject) must reconnect it"
        case .bot: who = "the installer of \(connection.subject) must reinstall or re-register the app"
        }
        let reason: String
        var actor = who
        switch connection.status(at: now, policy: policy) {
        case .needsReauth: reason = connection.reauthReason ?? "the provider refused the grant"
        case .expired: reason = "the token expired and nothing can renew it"
        case .revoked: reason = "the connection was revoked; only a new authorization restores it"
        case .static:
            actor = "nobody needs to act now"
            reason = "a static credential does not renew; should the provider refuse it, \(who) or replace the key"
        case _ where !connection.isRenewable:
            // Valid for now, but nothing renews it: someone must act before it runs out, not after.
            let left = connection.expiresAt.map {
                ", which expires in \(Countdown.format(seconds: $0.timeIntervalSince(now)))"
            }
            reason = "nothing can renew the token\(left ?? ""): re-authorize it before it runs out"
        case _ where connection.failures > 0 && connection.lastError?.kind == .configuration:
            // invalid_client and kin: the provider refuses the integration, not the grant. No re-auth mends that,
            // and retrying never will; whoever runs the integration must fix it, then the connection renews itself.
            actor =
                "an operator must fix integration \(connection.integrationID) (client id, secret, authentication "
                + "method or token URL)"
            reason =
                "the provider refused the integration's configuration: \(connection.lastError?.summary ?? "")"
                + "; re-authorizing does not mend that, and once it is fixed the connection renews itself"
        default:
            actor = "nobody needs to act now"
            reason = "the connection renews itself; should it break, \(who)"
        }
        // A user connection whose integration has a sign-in endpoint is re-authorized here instead: startReauth.
        return ReauthPrompt(connectionID: connection.id, who: actor, reason: reason)
    }

    /// Loads the full history of `id` into later snapshots' `histories`.
    public func requestHistory(for id: String) {
        Task { [store, state] in
            if let entries = try? store.history(connectionID: id, limit: 500) { state.setHistory(entries, for: id) }
        }
    }
}

/// Holds the actor's running task so that ``Engine`` can stay a `Sendable` final class.
private final class LoopHandle: Sendable {
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Whether the loop was started and not stopped since.
    var isStarted: Bool { task.withLock { $0 != nil } }

    func start(_ body: @escaping @Sendable () async -> Void) {
        task.withLock { current in
            guard current == nil else { return }
            current = Task(operation: body)
        }
    }

    func stop() async {
        let running = task.withLock { current -> Task<Void, Never>? in
            defer { current = nil }
            return current
        }
        running?.cancel()
        await running?.value
    }
}
