import Foundation

/// Renews tokens ahead of expiry, one refresh per connection at a time, and carries out operators' commands.
///
/// It keeps due times in a ``DueQueue``, so a tick costs nothing when nothing is due. Every result is written to
/// the store in one transaction before the new state is published, so a rotated refresh token is durable before
/// anything can use or show the new access token.
actor RefreshActor {
    // Internal rather than private where RefreshActor+Delegation.swift needs them.
    let store: Store
    let client: OAuthClient
    let clock: any TimeSource
    var policy: RefreshPolicy
    let state: EngineState
    var queue = DueQueue()
    var inFlight: Set<String> = []
    /// Callers waiting for a refresh already in flight to finish.
    var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// The children of each parent connection, so that a parent's recovery wakes them.
    var parents = ParentIndex()
    /// The longest the loop sleeps, so newly scheduled work is picked up promptly.
    private let maximumNap = 0.25
    /// This process's name in refresh leases: host, process id and a random part.
    private let owner = LeaseOwner.make()
    /// How long a lease lasts: longer than any request may take, short enough that a crashed owner's work moves on.
    let leaseDuration = 90.0
    /// The newest change and history numbers read from the store, to follow other processes' writes.
    private var lastChange = 0
    private var lastHistory = 0
    private var lastSync = Date.distantPast
    /// The store's change-notice count at the last sync; a new notice means "read the feed now".
    private var lastNotice: UInt64 = 0
    /// When this process last said it is alive (rekey refuses while a refresher is).
    private var lastHeartbeat = Date.distantPast
    /// Whether due work is claimed from the shared store's index over due times (PostgreSQL, refreshers on several
    /// hosts) rather than taken from this process's own queue one connection at a time (SQLite).
    private let claimsFromStore: Bool
    /// When this process last claimed from the store; it looks at least once a second even when its own queue
    /// says nothing is due (another process's work, left when it died, or written under another policy).
    private var lastClaim = Date.distantPast
    /// Whether the last claim failed (the store unreachable, or not writable for this user), so that the next one
    /// that works clears the notice.
    private var claimsFailing = false
    /// When this process last looked for leases left by refreshers that died on this host.
    private var lastGoneCheck = Date.distantPast
    /// When history past the policy's retention is next deleted.
    private var nextPrune = Date.distantPast
    /// History entries deleted per look: a chunk holds the loop for milliseconds, not the seconds a backlog of
    /// millions would.
    private let pruneChunk = 2_000
    /// Private keys already loaded, by integration and key fingerprint.
    private var signingKeys: [String: SigningKey] = [:]
    /// Refreshes in flight that the loop started, which stopping waits for, by a number of their own.
    private var running: [Int: Task<Attempt, Never>] = [:]
    private var nextRunning = 0
    /// Lease claims and results go through one group-committing writer.
    let writer: RefreshWriter
    /// Refreshes in flight whose request is answered and whose result waits for the writer.
    private var storing = 0
    /// Requests at providers now, which the policy's concurrency bounds, and refreshes waiting for a free slot.
    private var sending = 0
    /// Refreshes waiting for a slot: resumed with true when handed one, with false when a stop began.
    private var slotWaiters: [CheckedContinuation<Bool, Never>] = []
    /// Closed when a stop begins: no refresh sends its request after that.
    let gate: StopGate
    /// An operator's Ctrl-C during `tokentop revoke`.
    let interrupt: RevocationInterrupt
    /// Client secrets read from the store, by integration id with the fingerprint they were read under; emptied at
    /// each look at the store, so a secret another process imported is used within a second.
    private var clientSecrets: [String: (fingerprint: String?, secret: Secret?)] = [:]
    /// Holds a provider's refreshes while it fails for everyone.
    private var breaker: ProviderBreaker
    /// Whether the store's file was deleted or moved away: nothing is refreshed into it any more.
    private var fileGone = false
    /// Whether ``run()`` is scheduling; a finished refresh then starts the next due one at once.
    private var looping = false

    /// What became of one attempt to refresh.
    enum Attempt: Sendable {
        case done
        /// Another process holds the refresh lease.
        case busyElsewhere
        /// The database could not be read or written; nothing was refreshed or recorded.
        case storageFailed(String)
        /// A derived connection's parent cannot serve it now; nothing was sent, and the reason says why.
        case blockedByParent(String)
        /// The provider answered, but another process changed the connection meanwhile (`revoked` when it revoked
        /// it), and this result was discarded; `rotated` when the answer carried a new refresh token.
        case superseded(revoked: Bool, rotated: Bool)
        /// A stop began before its request was sent: nothing was sent, and the schedule picks it up next time.
        case stopped
    }

    /// The change and history numbers read just before the engine loaded the rows it schedules, to follow the
    /// store from; nil to start from the newest when scheduling.
    private let following: (change: Int, history: Int)?
    /// Follows other processes' writes but renews nothing: a read-only dashboard.
    private let observeOnly: Bool
    /// Counts refreshes, failures and their latency for `--metrics`.
    private let metrics: RefreshMetrics

    init(
        store: Store, client: OAuthClient, clock: any TimeSource, policy: RefreshPolicy, state: EngineState,
        observeOnly: Bool = false, metrics: RefreshMetrics = RefreshMetrics(),
        following: (change: Int, history: Int)? = nil, gate: StopGate = StopGate(),
        interrupt: RevocationInterrupt = RevocationInterrupt()
    ) {
        self.gate = gate
        self.interrupt = interrupt
        self.following = following
        self.observeOnly = observeOnly
        self.metrics = metrics
        self.store = store
        self.client = client
        self.clock = clock
        self.policy = policy
        self.state = state
        breaker = ProviderBreaker(policy: policy)
        writer = RefreshWriter(store: store)
        claimsFromStore = store.isShared
        store.setDuePolicy(policy)
    }

    /// Puts every connection's next due time into the queue, and starts following other processes' writes.
    func scheduleAll(_ connections: ConnectionList) {
        queue.reserveCapacity(queue.count + connections.count)
        for connection in connections {
            queue.schedule(connection.id, at: policy.dueAt(connection))
            noteParent(of: connection)
        }
        state.setNextDue(queue.nextDue())
        lastChange = following?.change ?? (try? store.latestChange()) ?? 0
        lastHistory = following?.history ?? (try? store.latestHistoryID()) ?? 0
        lastSync = clock.now()
        store.followChanges()
        // Rows written before due times were stored, or by a process that only reads, have none: claims would
        // never find them.
        if claimsFromStore, !observeOnly { _ = try? store.fillMissingDueTimes() }
    }

    /// Takes a new policy (a reloaded configuration) and reschedules every connection under it.
    func setPolicy(_ policy: RefreshPolicy) {
        // A new retention applies at once.
        if policy.historyRetention != self.policy.historyRetention { nextPrune = .distantPast }
        self.policy = policy
        state.setPolicy(policy)
        store.setDuePolicy(policy)
        for connection in state.snapshot().connections where !inFlight.contains(connection.id) {
            queue.schedule(connection.id, at: policy.dueAt(connection))
        }
        state.setNextDue(queue.nextDue())
    }

    /// Reads what other processes (a daemon, the CLI, another dashboard) wrote since the last look.
    ///
    /// Only changed rows are read, through an index on the change number, so this costs nothing when nothing
    /// changed.
    private func syncFromStore() {
        clientSecrets = [:]
        // This actor's own results are in the state already: only other writers' rows are read.
        guard let changes = try? store.changes(since: lastChange, skipping: writer.ownChanges) else { return }
        lastChange = changes.latest
        let written = changes.connections.filter { !inFlight.contains($0.id) }
        // Read at each look, not only when a connection names one not seen yet: a re-imported integration's token
        // and revocation URLs, client id and authentication take effect at once, as its secret (read afresh) does.
        // Before, a new client secret went to the token URL the import had just replaced. Integrations are few.
        if let integrations = try? store.integrations() { state.setIntegrations(integrations) }
        // In one step: an import of thousands of connections into a large fleet counts and indexes afresh once.
        state.upsert(written)
        for connection in written {
            queue.schedule(connection.id, at: policy.dueAt(connection))
            noteParent(of: connection)
            wakeChildren(of: connection.id)
        }
        // A row written so that this tokentop cannot read it (a hand edit, a newer version) leaves the fleet: what
        // was known of it is out of date, and refreshing it on that would overwrite the other writer's change.
        // One whose refresh is in flight stays until its result is stored.
        forget(changes.deleted + changes.unreadable.map(\.id).filter { !inFlight.contains($0) })
        state.setUnreadable(changes.unreadable, readable: changes.connections.map(\.id) + changes.deleted)
        if let history = try? store.history(since: lastHistory, skipping: writer.ownHistory) {
            lastHistory = history.latest
            state.merge(events: history.entries)
        }
        writer.forget(changesThrough: lastChange, historyThrough: lastHistory)
    }

    /// Fires due refreshes until the task is cancelled, then waits for those in flight.
    ///
    /// Refreshes run as tasks of their own, not as children of the loop: stopping the loop must not cancel a
    /// request that may already have rotated the refresh token at the provider, or its answer would be lost.
    func run() async {
        looping = true
        while !Task.isCancelled {
            let now = clock.now()
            if now.timeIntervalSince(lastHeartbeat) >= 1 || now < lastHeartbeat {
                try? store.heartbeat(owner: owner, at: now)
                lastHeartbeat = now
                // A deleted file takes every rotated refresh token written from then on with it: stop refreshing.
                if !fileGone, let problem = store.fileProblem() {
                    fileGone = true
                    state.setNotice("database problem: \(problem)")
                }
            }
            // Each step below may wait out another process's lock (PostgreSQL's lock timeout, SQLite's busy
            // timeout): a stop asked meanwhile does not wait for the next ones too.
            if Task.isCancelled { break }
            let notice = store.changeNotices
            if notice != lastNotice || now.timeIntervalSince(lastSync) >= store.changePollInterval || now < lastSync {
                lastNotice = notice
                syncFromStore()
                lastSync = now
            }
            if !observeOnly, now >= nextPrune { pruneHistory(at: now) }
            if Task.isCancelled { break }
            startDue(at: now)
            let next = queue.nextDue()
            state.setNextDue(next)
            let nap = next.map { min(maximumNap, max(0.01, $0.timeIntervalSince(now))) } ?? maximumNap
            do { try await clock.sleep(seconds: nap) } catch { break }
        }
        looping = false
        await finishInFlight()
    }

    /// Deletes a chunk of the history past the policy's retention: again a second later while more is left, else in
    /// an hour.
    private func pruneHistory(at now: Date) {
        var deleted = 0
        if let retention = policy.historyRetention {
            deleted = (try? store.pruneHistory(before: now.addingTimeInterval(-retention), limit: pruneChunk)) ?? 0
        }
        nextPrune = now.addingTimeInterval(deleted == pruneChunk ? 1 : 3_600)
    }

    /// Starts due refreshes while fewer than the policy's concurrency are in flight.
    private func startDue(at now: Date) {
        guard !observeOnly, !fileGone, !gate.isClosed else { return }
        for id in breaker.probes(at: now) where !inFlight.contains(id) {
            inFlight.insert(id)
            launch(id)
        }
        if claimsFromStore {
            claimFromStore(at: now)
        } else {
            // The policy's concurrency bounds requests at providers (see `acquireSlot`). Up to eight times as many
            // may be claiming their leases or waiting for a slot meanwhile, so that a slot never waits for the writer
            // and each of its group commits carries many claims (16 % more refreshes a second at N = 100,000 than
            // with twice as many); results waiting to be stored count too, so that a slow disk slows the refreshes
            // instead of piling them up.
            while room > 0, let id = queue.popDue(at: now) {
                guard !inFlight.contains(id), admit(id, at: now) else { continue }
                inFlight.insert(id)
                launch(id)
            }
        }
        state.setOutages(breaker.outages)
    }

    /// How many more refreshes may start now (see `startDue`).
    private var room: Int {
        min(policy.concurrency * 8 - (inFlight.count - storing), policy.concurrency * 16 - inFlight.count)
    }

    /// How many due connections a claim from the shared store may take now: no more than two slots' worth ahead,
    /// since a lease claimed early is work the other refreshers cannot take meanwhile.
    private var sharedRoom: Int {
        min(policy.concurrency * 2 - (inFlight.count - storing), policy.concurrency * 3 - inFlight.count)
    }

    /// On a shared store: claims due connections from the store's index, as many as there is room for, and starts
    /// them. Other refreshers claim at the same time without waiting for each other or taking the same rows.
    private func claimFromStore(at now: Date) {
        let locallyDue = queue.nextDue().map { $0 <= now } ?? false
        guard sharedRoom > 0, locallyDue || now.timeIntervalSince(lastClaim) >= 1 || now < lastClaim else { return }
        // This process's queue only says when to look: what others claimed comes back through the change feed.
        while queue.popDue(at: now) != nil {}
        lastClaim = now
        if now.timeIntervalSince(lastGoneCheck) >= 2 || now < lastGoneCheck {
            lastGoneCheck = now
            _ = try? store.endLeasesOfGoneOwners(now: now)
        }
        let limit = sharedRoom
        let claims: [ClaimedRefresh]
        do {
            claims = try store.claimDue(
                owner: owner, limit: limit, now: now, until: now.addingTimeInterval(leaseDuration))
        } catch {
            claimsFailing = true
            state.setNotice("database problem: cannot claim due refreshes from \(store.path): \(error)")
            return
        }
        if claimsFailing {
            claimsFailing = false
            state.setNotice(nil)
        }
        let passed = (try? store.unreadableAtClaims()) ?? []
        if !passed.isEmpty {
            // Named as the change feed names them, and no longer refreshed under the state it last read.
            forget(passed.map(\.id).filter { state.connection($0) != nil })
            state.setUnreadable(passed, readable: [])
        }
        for claim in claims {
            let id = claim.connection.id
            guard !inFlight.contains(id) else {
                try? store.releaseLease(connectionID: id, claim.lease)
                continue
            }
            if state.connection(id) == nil { state.upsert(claim.connection) }
            guard admit(id, at: now) else {
                // Its provider is failing for everyone: nobody takes it again before the breaker's next look.
                let until = now.addingTimeInterval(policy.breakerCoolDown)
                try? store.holdLease(connectionID: id, claim.lease, until: until)
                continue
            }
            inFlight.insert(id)
            launch(id, claimed: claim)
        }
        // A full batch means more may be due: claim again on the next tick rather than in a second.
        if claims.count == limit { lastClaim = .distantPast }
    }

    /// Starts refreshing `id` in a task of its own, kept until it ends so that stopping can wait for it.
    /// - Parameter claimed: the lease already taken for it, when it was claimed from the shared store.
    private func launch(_ id: String, claimed: ClaimedRefresh? = nil) {
        // A counter, not a UUID: Foundation's UUID reads /dev/urandom each time, once per refresh.
        let key = nextRunning
        nextRunning &+= 1
        // The task runs on this actor, so it starts only after `running` holds it.
        running[key] = Task {
            let attempt = await self.performRefresh(id, claimed: claimed)
            self.running[key] = nil
            return attempt
        }
    }

    /// Waits for every refresh in flight to store its result (each is bounded by the HTTP time limit).
    func finishInFlight() async {
        while !running.isEmpty {
            let tasks = running
            for task in tasks.values { _ = await task.value }
            for id in tasks.keys { running[id] = nil }
        }
        try? store.removeHeartbeat(owner: owner)
    }

    /// Refreshes `id` now, or waits for the refresh already in flight; returns the connection afterwards.
    func refreshNow(_ id: String) async throws -> Connection {
        guard let connection = state.connection(id) else {
            throw EngineError(.unknownConnection, "no connection named \(SafeText.name(id)) in \(store.path)")
        }
        if connection.revokedAt != nil {
            throw EngineError(.notRenewable, "\(id) is revoked; re-authorize it to restore it")
        }
        guard connection.credential.expires else {
            throw EngineError(
                .notRenewable, "\(id) holds \(connection.credential.withArticle) credential, which does not expire")
        }
        if let reason = connection.reauthReason {
            throw EngineError(.notRenewable, "\(id) needs re-auth: \(reason)")
        }
        guard connection.isRenewable else {
            throw EngineError(.notRenewable, "\(id) has no refresh token or grant to renew it; re-authorize it instead")
        }
        if let block = humanBlock(of: connection) {
            throw EngineError(.notRenewable, "\(id) cannot renew: \(block.reason)")
        }
        let requestedAt = clock.now()
        let deadline = requestedAt.addingTimeInterval(leaseDuration + 5)
        while true {
            if gate.isClosed { throw Self.stopped(id) }
            if inFlight.contains(id) {
                await withCheckedContinuation { waiters[id, default: []].append($0) }
                break
            }
            inFlight.insert(id)
            let attempt = await performRefresh(id, requestedAt: requestedAt)
            if case .storageFailed(let problem) = attempt {
                throw EngineError(.storage, "\(id) was not refreshed: database problem: \(problem)")
            }
            if case .blockedByParent(let reason) = attempt {
                throw EngineError(.notRenewable, "\(id) was not refreshed: \(reason)")
            }
            if case .superseded(let revoked, let rotated) = attempt {
                throw Self.superseded(id, revoked: revoked, rotated: rotated)
            }
            if case .stopped = attempt { throw Self.stopped(id) }
            guard case .busyElsewhere = attempt else { break }
            guard clock.now() < deadline else {
                throw EngineError(
                    .busy,
                    "\(id) was not refreshed here: \(Self.named(leaseHolder(id))) is refreshing it and has not stored "
                        + "its result yet; `tokentop show \(id)` shows it once it has")
            }
            // Another process is refreshing it; wait for its result, which the next attempt adopts.
            try? await clock.sleep(seconds: 0.5)
        }
        guard let refreshed = state.connection(id) else {
            // Deleted meanwhile (`tokentop delete`): the refresh was dropped, not stored.
            throw EngineError(
                .unknownConnection,
                "\(id) was deleted while its refresh was in flight; the provider's answer was not stored")
        }
        // Revoked by another process before this one's refresh went out: it adopted that, and renewed nothing.
        if refreshed.revokedAt != nil { throw Self.superseded(id, revoked: true, rotated: false) }
        return refreshed
    }

    /// What an operator's refresh says when a stop began before its request was sent.
    static func stopped(_ id: String) -> EngineError {
        EngineError(
            .stopped,
            "\(id) was not refreshed: tokentop is stopping, and nothing was sent to the provider; it is "
                + "refreshed on schedule by the next tokentop that runs")
    }

    /// What an operator's refresh says when another process changed `id` under it and its result was discarded.
    static func superseded(_ id: String, revoked: Bool, rotated: Bool) -> EngineError {
        let lost =
            rotated
            ? "; the provider had already issued a new refresh token, which was not stored (the connection's history "
                + "says so)" : ""
        if revoked {
            return EngineError(
                .superseded, "\(id) was not refreshed: another process revoked it meanwhile" + lost)
        }
        return EngineError(
            .superseded,
            "\(id) was not refreshed here: another process refreshed or changed it while this refresh was in flight; "
                + "its result was kept and this one discarded" + lost + "; `tokentop show \(id)` shows it now")
    }

    /// Revokes `id` at the provider when it has a revocation endpoint, then marks it revoked here.
    ///
    /// It takes the refresh lease first, waiting for a refresh in flight here or in another process, so that it
    /// revokes the tokens that refresh stored rather than the spent ones.
    /// - Parameter waiting: told what the revocation waits for: another process's refresh of `id`.
    func revoke(_ id: String, waiting: @Sendable (String) -> Void = { _ in }) async throws -> Connection {
        guard let known = state.connection(id) else {
            throw EngineError(.unknownConnection, "no connection named \(SafeText.name(id)) in \(store.path)")
        }
        if known.revokedAt != nil { throw EngineError(.alreadyRevoked, "\(id) is already revoked") }
        if interrupt.isSet { throw Self.interruptedBeforeSending(id) }
        while inFlight.contains(id) { await withCheckedContinuation { waiters[id, default: []].append($0) } }
        inFlight.insert(id)
        defer { finish(id) }
        queue.schedule(id, at: nil)
        let lease: Lease
        let connection: Connection
        do {
            (connection, lease) = try await claimForRevocation(id, waiting: waiting)
        } catch {
            if let current = state.connection(id) { queue.schedule(id, at: policy.dueAt(current)) }
            throw error
        }
        // Revoking ends the lease with the write; a revocation that fails gives it back.
        defer { try? store.releaseLease(connectionID: id, lease) }
        if connection.revokedAt != nil { throw EngineError(.alreadyRevoked, "\(id) is already revoked") }
        guard let integration = state.integration(connection.integrationID) else {
            throw EngineError(.unknownConnection, "\(id) names an unknown integration \(connection.integrationID)")
        }
        // A stop waits for it, and says so, until it is recorded.
        gate.revocationStarted()
        defer { gate.revocationDone() }

        var atProvider = false
        /// The access token's revocation failed after the refresh token's went through.
        var accessTokenError: ProviderError?
        var message =
            "revoked here only: \(integration.id) has no revocation endpoint, "
            + "so \(connection.validAtProviderAfterLocalRevoke)"
        if integration.revocationURL != nil {
            let tokens = try storage { try store.tokenSecrets(connectionID: id) }
            let secret = try storage { try store.integrationSecret(id: integration.id) }
            // A revocation at the provider cannot be taken back: the database must take its record first, or the
            // tokens were dead and the store said nothing had changed (another process holding the lock).
            do {
                try store.checkWritable(connectionID: id)
            } catch {
                queue.schedule(id, at: policy.dueAt(connection))
                throw EngineError(
                    .storage, "\(id) was not revoked: database problem: \(error); nothing was sent to the provider")
            }
            // The refresh token first: revoking it ends the grant, and with it the grant's access tokens (RFC 7009
            // §2.1 asks the provider to), so once it is revoked the connection is revoked, whatever follows.
            var grantEnded = false
            var sent = false
            for (token, hint) in [(tokens.refresh, "refresh_token"), (tokens.access, "access_token")] {
                guard let token else { continue }
                if interrupt.isSet, !sent {
                    queue.schedule(id, at: policy.dueAt(connection))
                    throw Self.interruptedBeforeSending(id)
                }
                sent = true
                // Ctrl-C stops the wait for the answer at once; whether the request reached the provider is unknown.
                let client = client
                guard
                    let result = await interrupt.race({
                        await client.revoke(integration: integration, clientSecret: secret, token: token, hint: hint)
                    })
                else {
                    if grantEnded {
                        // The grant is ended, so the connection is revoked; only the access token's answer is missing.
                        accessTokenError = ProviderError(
                            kind: .transient, error: "interrupted",
                            errorDescription: "the wait for the provider's answer was interrupted")
                        break
                    }
                    queue.schedule(id, at: policy.dueAt(connection))
                    throw record(interruptedRevocation: connection)
                }
                guard case .failure(let error) = result else {
                    if hint == "refresh_token" { grantEnded = true }
                    continue
                }
                guard grantEnded else {
                    queue.schedule(id, at: policy.dueAt(connection))
                    record(revocationFailure: error, of: connection)
                    throw EngineError(
                        .revocationFailed,
                        "revoking \(id) failed at the provider, nothing was changed: \(error.summary)")
                }
                accessTokenError = error
            }
            atProvider = true
            message = "revoked at the provider and here"
            if let accessTokenError {
                message = "refresh token revoked at the provider, and the connection here; revoking the access token "
                    + "failed: \(accessTokenError.summary); it should end with its grant (RFC 7009 §2.1), but if the "
                    + "provider keeps it, it stays valid until \(connection.accessExpiryText)"
            }
        }
        // One time for the stored entry and the shown one: the history feed reads the stored one back, and only an
        // entry of the same time is known for one already shown.
        let at = clock.now()
        // Written again while a problem that may pass lasts (a lock taken since the check, a disk filling up): the
        // provider has revoked the tokens, and the store must say so.
        var retry = StoreRetry(from: at)
        while true {
            let revoked: Connection
            do {
                revoked = try store.recordRevoked(
                    connectionID: id, atProvider: atProvider, at: at, message: message, error: accessTokenError)
            } catch {
                guard await retry.wait(after: error, clock: clock) else {
                    guard atProvider else { throw EngineError(.storage, "database problem: \(error)") }
                    let fact = (error as? StoreError)?.fact ?? "\(error)"
                    throw EngineError(
                        .storage,
                        "\(id) was revoked at the provider, but the database could not record it (\(fact)); it "
                            + "still shows as before here: run `tokentop revoke \(id)` again once the database takes "
                            + "writes (the provider answers a revoked token's revocation as done)")
                }
                continue
            }
            state.update(
                revoked,
                event: HistoryEntry(
                    at: at, connectionID: id, kind: .revoked, message: message, error: accessTokenError))
            // Revoked, but not all of it: the operator must hear that the access token may still work.
            if accessTokenError != nil { throw EngineError(.revocationIncomplete, "\(id): \(message)") }
            return revoked
        }
    }

    /// What a revocation interrupted before anything was sent says.
    private static func interruptedBeforeSending(_ id: String) -> EngineError {
        EngineError(.interrupted, "\(id) was not revoked: interrupted before anything was sent to the provider")
    }

    /// Keeps a revocation whose request was sent but whose answer an operator stopped waiting for (Ctrl-C) in the
    /// connection's history and as its last error: the provider may have revoked the tokens, or not. The connection
    /// is not marked revoked, since nobody knows that it is; it returns what the operator is told.
    private func record(interruptedRevocation connection: Connection) -> EngineError {
        let id = connection.id
        let again =
            "run `tokentop revoke \(id)` again to finish it (the provider answers a revoked token's "
            + "revocation as done)"
        let error = ProviderError(
            kind: .transient, error: "revocation_interrupted",
            errorDescription: "interrupted before the provider answered; the request may have reached it")
        let message =
            "revocation interrupted: the request may have reached the provider; not marked revoked here; "
            + again
        record(revocationFailure: error, of: connection, message: message)
        return EngineError(
            .interrupted,
            "\(id): revocation interrupted: the request was sent and may have reached the provider, which may have "
                + "revoked its tokens; it is not marked revoked here; \(again)")
    }

    /// Who holds `id`'s refresh lease, if anybody does and the store can say.
    private func leaseHolder(_ id: String) -> (owner: String, until: Date)? {
        (try? store.leaseHolder(connectionID: id)).flatMap { $0 }
    }

    /// The holder of a lease as a message names it: `process HOST:PID:LABEL`, or `another process`.
    private static func named(_ holder: (owner: String, until: Date)?) -> String {
        holder.map { "process \(SafeText.clean($0.owner))" } ?? "another process"
    }

    /// Takes `id`'s refresh lease for a revocation, waiting while another live process holds it (at most until
    /// its lease ends, when it may be taken over).
    /// - Returns: the connection as stored now, perhaps refreshed by that process meanwhile, and the lease.
    private func claimForRevocation(
        _ id: String, waiting: @Sendable (String) -> Void
    ) async throws -> (Connection, Lease) {
        // A store this user may not write says so before anything else, in the words of `checkWritable`.
        do {
            try store.checkWritable(connectionID: id)
        } catch {
            throw EngineError(
                .storage, "\(id) was not revoked: database problem: \(error); nothing was sent to the provider")
        }
        let deadline = clock.now().addingTimeInterval(leaseDuration + 5)
        var told: String?
        while true {
            let now = clock.now()
            let claimed: (Connection, Lease)?
            do {
                claimed = try store.claimLease(
                    connectionID: id, owner: owner, until: now.addingTimeInterval(leaseDuration), now: now)
            } catch let error as StoreError where error.code == .unknownConnection {
                forget(id)
                throw EngineError(.unknownConnection, "\(id) was deleted meanwhile; nothing was revoked")
            } catch {
                throw EngineError(
                    .storage, "\(id) was not revoked: database problem: \(error); nothing was sent to the provider")
            }
            if let (connection, lease) = claimed {
                if connection != state.connection(id) { state.update(connection, event: nil) }
                return (connection, lease)
            }
            if interrupt.isSet { throw Self.interruptedBeforeSending(id) }
            let holder = leaseHolder(id)
            guard now < deadline else {
                throw EngineError(
                    .busy,
                    "\(id) was not revoked: \(Self.named(holder)) is refreshing it and has not stored its result; "
                        + "nothing was sent to the provider; run `tokentop revoke \(id)` again")
            }
            if let holder, holder.owner != told {
                told = holder.owner
                waiting(
                    "waiting for process \(SafeText.clean(holder.owner)), which is refreshing \(SafeText.name(id)), "
                        + "to store its result (its lease ends at \(RFC3339.string(from: holder.until)))")
            }
            try? await clock.sleep(seconds: 0.2)
        }
    }

    // MARK: - One refresh

    /// Refreshes one connection under its lease.
    ///
    /// - Parameter requestedAt: when an operator asked for this refresh; nil for the actor's own schedule.
    // FIXME: 9,000-10,500 refreshes/s at N = 100,000 on 2 cores with 2 KiB pages, 0.11-0.13 of wrk's rate (issue 5
    // wants 0.15; wrk itself swings 67,000-187,000). About 200 µs of CPU a refresh machine-wide, the 2 cores ~87 %
    // busy: the writer's queue ~0.75 of a core (its commits a third of that: the write-ahead log's frames, ~5 a
    // refresh; the claim's read and lease a fifth; the result's row and history a quarter), libcurl's loop ~0.45
    // (half of it the kernel's loopback TCP), the refresh tasks the rest (sealing, building the request, about six
    // hand-offs). The writer's cost is SQLite's own for this schema: the same statements from Python's sqlite3 cost
    // as much. Tried, no gain beyond ±10 % noise: a claim that writes no row, bigger batches, short-log checkpoints,
    // a bigger page cache, mmap, SQLite's memory statistics off, no secure_delete, more concurrency, the client on
    // the actor's executor. 0.15 needs about a fifth less CPU across the writer, the tasks and the HTTP path
    // together: fewer hand-offs and fewer pages a refresh, a redesign rather than a tuning step.
    @discardableResult
    func performRefresh(_ id: String, requestedAt: Date? = nil, claimed: ClaimedRefresh? = nil) async -> Attempt {
        defer { finish(id) }
        guard let known = state.connection(id), known.isRenewable, known.revokedAt == nil,
            known.reauthReason == nil, let integration = state.integration(known.integrationID)
        else {
            if let claimed { try? store.releaseLease(connectionID: id, claimed.lease) }
            return .done
        }
        // A stop began: nothing new is claimed or sent.
        if gate.isClosed {
            if let claimed { try? store.releaseLease(connectionID: id, claimed.lease) }
            queue.schedule(id, at: policy.dueAt(known))
            return .stopped
        }
        let claimedAt = clock.now()
        let claim: ClaimedRefresh?
        if let claimed {
            claim = claimed
        } else {
            switch await writer.claim(
                LeaseRequest(
                    connectionID: id, owner: owner, until: claimedAt.addingTimeInterval(leaseDuration),
                    now: claimedAt, takesParked: requestedAt != nil))
            {
            case .failure(let error) where Self.vanished(error):
                // Deleted by an operator since the last look at the store: nothing to refresh, and no database problem.
                forget(id)
                return .done
            case .failure(let error) where (error as? StoreError)?.isUnreadableRow == true:
                // Its row was changed so that it cannot be read (while a refresh of it was in flight, or before the
                // change feed brought it): it leaves the fleet and is named, not failed again at every due time.
                forget(id)
                state.setUnreadable([UnreadableConnection(id: id, problem: "\(error)")], readable: [])
                return .done
            case .failure(let error):
                record(storageFailure: error, for: known)
                return .storageFailed("\(error)")
            case .success(let claimed): claim = claimed
            }
        }
        guard let claim else {
            // Another process is refreshing it: look again shortly, and adopt what it stores.
            queue.schedule(id, at: claimedAt.addingTimeInterval(2))
            return .busyElsewhere
        }
        let (connection, lease) = (claim.connection, claim.lease)
        // Storing a result gives the lease back in the same write; only an attempt that stores nothing returns it.
        var stored = false
        defer { if !stored { try? store.releaseLease(connectionID: id, lease) } }
        if connection != known {
            // Another process wrote it since we last looked: adopt its state, and refresh only if still needed.
            state.update(connection, event: nil)
            let renewable = connection.isRenewable && connection.revokedAt == nil && connection.reauthReason == nil
            // A claim from the shared store is due by the store's schedule, which the last writer's policy set.
            let due = claimed != nil || (policy.dueAt(connection).map { $0 <= claimedAt } ?? false)
            let asked = requestedAt.map { (connection.lastRefreshAt ?? .distantPast) < $0 } ?? false
            guard renewable, due || asked else {
                queue.schedule(id, at: policy.dueAt(connection))
                return .done
            }
        }
        state.setInFlight(id, true)
        defer { state.setInFlight(id, false) }
        // A derived connection may refresh its parent first, inside its own refresh: it takes no slot, so that
        // children waiting for parents can never hold every slot.
        var holdsSlot = !connection.grant.derivesFromParent
        if holdsSlot {
            // A stop that began while it waited for a slot gives it none: its lease goes back, nothing is sent.
            guard await acquireSlot() else {
                queue.schedule(id, at: policy.dueAt(connection))
                return .stopped
            }
            // Admitted before its claim; the provider's breaker may have opened meanwhile. An operator's refresh
            // goes out all the same: one request asked for by hand is no storm, an answer closes the breaker, and
            // held without a word it showed "refreshing" until the cool-down ended and recorded nothing.
            guard requestedAt != nil || breaker.readmit(id, provider: integration.provider, at: clock.now()) else {
                releaseSlot()
                return .done
            }
        }
        defer { if holdsSlot { releaseSlot() } }
        // The last look before the request leaves; from here on a stop waits for this refresh.
        guard gate.admitRefresh() else {
            queue.schedule(id, at: policy.dueAt(connection))
            return .stopped
        }
        defer { gate.refreshDone() }

        let result: Result<TokenGrant, ProviderError>
        let started = ContinuousClock.now
        do {
            let secret = try clientSecret(of: integration)
            switch connection.grant {
            case .refreshToken:
                guard let refreshToken = claim.refreshToken else {
                    result = .failure(ProviderError(kind: .invalidGrant, error: "no_refresh_token"))
                    break
                }
                result = await client.refresh(
                    integration: integration, clientSecret: secret, refreshToken: refreshToken)
            case .clientCredentials:
                result = await client.clientCredentials(integration: integration, clientSecret: secret)
            case .jwtBearer, .githubAppInstallation:
                switch signingKey(integration, secret) {
                case .failure(let error): result = .failure(error)
                case .success(let key) where connection.grant == .jwtBearer:
                    // Google domain-wide delegation: the service account (client id) acts as the subject.
                    // The key also authenticates the client when the integration says private_key_jwt.
                    result = await client.jwtBearer(
                        integration: integration, key: key, issuer: integration.clientID, subject: connection.subject,
                        scopes: integration.scopes.isEmpty ? connection.grantedScopes : integration.scopes,
                        clientSecret: secret, now: clock.now())
                case .success(let key):
                    result = await client.githubAppInstallationToken(
                        appID: integration.clientID, installationID: connection.subject, key: key,
                        apiBase: integration.tokenURL, now: clock.now())
                }
            case .onBehalfOf, .tokenExchange:
                switch await upstreamToken(for: connection, asked: requestedAt != nil) {
                case .token(let token):
                    result = await derivedGrant(connection, integration: integration, secret: secret, upstream: token)
                case .blocked(let reason, let retryAt):
                    // Nothing is sent and nothing stored: the child's status derives from its parent's, and it
                    // waits for the parent (or for a human) instead of spending doomed requests.
                    queue.schedule(id, at: retryAt)
                    if claimed != nil {
                        // On a shared store the lease keeps it: no refresher claims it again before then.
                        stored = true
                        let until = retryAt ?? clock.now().addingTimeInterval(policy.breakerCoolDown)
                        try? store.holdLease(connectionID: id, lease, until: until)
                    }
                    return .blockedByParent(reason)
                }
            case .none:
                result = .failure(
                    ProviderError(
                        kind: .configuration, error: "no_grant",
                        errorDescription: "\(id) has no grant to renew it; a human must re-authorize it"))
            }
        } catch {
            record(storageFailure: error, for: connection)
            return .storageFailed("\(error)")
        }
        let now = clock.now()
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        switch result {
        case .success: metrics.recordSuccess(provider: integration.provider, seconds: seconds)
        case .failure(let error):
            metrics.recordFailure(provider: integration.provider, error: error.error, seconds: seconds)
        }
        noteOutcome(id, provider: integration.provider, result)
        let outcome: RefreshRecord.Outcome
        let event: HistoryEntry
        switch result {
        case .success(var grant):
            var notes: [String] = [grant.refreshToken == nil ? "refreshed" : "refreshed; refresh token rotated"]
            if connection.grant.derivesFromParent, let parentID = connection.parentID {
                // Renewed from the parent's token every time; a refresh token would be one more secret unused.
                grant.refreshToken = nil
                notes = ["refreshed from parent \(parentID)'s token"]
            }
            if lease.interrupted { notes.append("resumed a refresh that a stopped process left unfinished") }
            if grant.expiresIn == nil {
                // The provider's documented default when the catalog knows one, else the policy's.
                let (lifetime, source) = policy.assumedLifetime(provider: integration.provider)
                grant.expiresIn = lifetime
                grant.expiryAssumed = true
                let why = grant.unusableExpiry ?? "no expiry in the answer"
                notes.append("\(why), assuming \(Countdown.format(seconds: lifetime)) (\(source))")
            } else if let lifetime = grant.expiresIn, lifetime < policy.minimumInterval {
                notes.append(policy.shortLifetimeNote(lifetime))
            }
            if let shortened = grant.shortenedExpiry { notes.append(shortened) }
            if let scopes = grant.scopes {
                let missing = connection.grantedScopes.filter { !scopes.contains($0) }
                if !missing.isEmpty { notes.append("scopes no longer granted: \(missing.joined(separator: " "))") }
            }
            let message = notes.joined(separator: "; ")
            outcome = .success(grant, message: message)
            event = HistoryEntry(at: now, connectionID: id, kind: .refreshed, message: message)
        case .failure(var error):
            if error.requestSent == false, connection.failures > 0, connection.lastError?.followsLostAnswer == true {
                // A request that never left changes nothing at the provider: an answer lost before it may still
                // have rotated the refresh token, and a later refusal must still say so.
                error.earlierAnswerLost = true
            }
            let failures = connection.failures + 1
            var reauth: String?
            var retryAt: Date?
            switch error.kind {
            case .invalidGrant:
                if lease.interrupted {
                    // The refresher before us stopped mid-refresh: its request may have rotated the token.
                    reauth =
                        "the provider refused the refresh token after a refresh by a process that stopped "
                        + "before storing its answer; the provider probably rotated the token in that answer, "
                        + "and no rotation grace window let us get it back (\(error.summary))"
                } else if connection.lastError?.followsLostAnswer == true, connection.failures > 0 {
                    // An earlier request went out and no answer came back: the provider may have rotated the
                    // refresh token in an answer that was lost. That is not the user withdrawing consent. A request
                    // that was never sent (no connection, no TLS handshake) rotated nothing.
                    reauth =
                        "the provider refused the refresh token after an earlier request got no answer; it "
                        + "probably rotated the token and the answer carrying the new one was lost "
                        + "(\(error.summary))"
                } else {
                    reauth = "the provider refused the grant: \(error.summary)"
                }
            case .configuration:
                retryAt = now.addingTimeInterval(policy.configurationRetry)
            case .transient, .malformed:
                var delay = policy.backoff(failures: failures, retryAfter: error.retryAfter)
                if connection.grant == .refreshToken, error.answerMayBeLost {
                    // The request may have rotated the refresh token in an answer that never came: retry with the
                    // same token while the provider still accepts it (its grace window). One never sent rotated
                    // nothing, and waits its backoff.
                    delay = policy.lostAnswerRetry(provider: integration.provider, backoff: delay)
                }
                retryAt = now.addingTimeInterval(delay)
            }
            outcome = .failure(error, retryAt: retryAt, reauthReason: reauth)
            let message =
                switch error.kind {
                case .invalidGrant: "needs re-auth: \(error.summary)"
                case .configuration: error.refreshFailureDetail(integrationID: integration.id)
                case .transient, .malformed: "refresh failed: \(error.summary)"
                }
            let kind: HistoryEntry.Kind = reauth == nil ? .refreshFailed : .needsReauth
            event = HistoryEntry(at: now, connectionID: id, kind: kind, message: message, error: error)
        }
        // The request is answered: its slot goes to the next refresh while the result waits for the writer.
        if holdsSlot {
            releaseSlot()
            holdsSlot = false
        }
        storing += 1
        if looping { startDue(at: clock.now()) }
        // Sealed here rather than on the writer's one thread, the narrowest part of a refresh storm; should it fail,
        // the writer seals again and reports why with the record.
        var sealed: SealedGrant?
        var renewed = false
        var rotated = false
        if case .success(let grant, _) = outcome {
            sealed = try? store.seal(grant, connectionID: id)
            renewed = true
            rotated = grant.refreshToken != nil
        }
        let pending = RefreshRecord(connection: connection, lease: lease, outcome: outcome, at: now, sealed: sealed)
        var written = await writer.record(pending)
        if renewed {
            // Within the lease, so that no other refresher takes the connection and sends the old token meanwhile.
            var retry = StoreRetry(from: now, until: claimedAt.addingTimeInterval(leaseDuration - 5))
            while case .failure(let error) = written, await retry.wait(after: error, clock: clock) {
                // What is wrong, without the advice for a write given up, which this is not yet.
                state.setNotice(
                    "database problem: holding the new tokens of \(id) and trying again to store them: "
                        + ((error as? StoreError)?.fact ?? "\(error)"))
                written = await writer.record(pending)
            }
        }
        storing -= 1
        switch written {
        case .success(let updated):
            stored = true
            state.update(updated, event: event, landed: true)
            queue.schedule(id, at: policy.dueAt(updated))
            if case .success = result { wakeChildren(of: id) }
            state.setNotice(nil)
        case .failure(let error) where Self.vanished(error):
            // Deleted while its request was out: the provider's answer has nowhere to go, and is dropped. A token it
            // rotated dies with the connection, as the operator's delete meant.
            stored = true
            forget(id)
        case .failure(let error as StoreError) where error.code == .revoked || error.code == .leaseLost:
            // Another process revoked or refreshed it while the request was out; its write stands, ours is dropped.
            let current = try? store.connection(id: id)
            if let current {
                state.update(current, event: nil)
                queue.schedule(id, at: policy.dueAt(current))
            }
            let revoked = error.code == .revoked || current?.revokedAt != nil
            if rotated {
                record(lostRotation: error, of: connection, revoked: revoked, certain: true)
            } else if case .failure(let failure, _, _) = outcome, connection.grant == .refreshToken,
                failure.answerMayBeLost
            {
                // A process stopped past its lease (kill -STOP, a suspended machine) finds its answer timed out,
                // and the connection written by another process meanwhile: the answer it never read may have
                // rotated the token.
                record(lostRotation: error, of: connection, revoked: revoked, certain: false)
            }
            return .superseded(revoked: revoked, rotated: rotated)
        case .failure(let error):
            // The provider has moved on to the new refresh token: the message must not say that nothing changed,
            // nor invite a retry that sends the old one.
            let problem =
                rotated
                ? "\((error as? StoreError)?.fact ?? "\(error)"); the provider had already issued a new refresh "
                    + "token, which could not be stored and is lost: the next refresh will probably be refused, and "
                    + "the connection then needs re-auth"
                : "\(error)"
            let keyChanged = (error as? StoreError)?.code == .keyChanged
            record(storageFailure: problem, for: connection, keyChanged: keyChanged, kept: rotated)
            return .storageFailed(problem)
        }
        return .done
    }

    /// Whether `error` says the connection is no longer in the store: an operator deleted it (`tokentop delete`).
    static func vanished(_ error: any Error) -> Bool { (error as? StoreError)?.code == .unknownConnection }

    /// Drops a connection an operator deleted: out of the queue, the parents' index, the breaker and the state.
    /// Its refresh in flight, if any, finds no row to store its result in, and drops it too.
    func forget(_ id: String) { forget([id]) }

    /// Forgets connections deleted from the store, their positions dropped from the state in one step.
    func forget(_ ids: [String]) {
        guard !ids.isEmpty else { return }
        for id in ids {
            queue.schedule(id, at: nil)
            parents.forget(id)
            breaker.abandon(id, at: clock.now())
        }
        state.remove(ids)
    }

    /// The integration's client secret (or private key), read from the store at most once a second.
    private func clientSecret(of integration: Integration) throws -> Secret? {
        if let cached = clientSecrets[integration.id], cached.fingerprint == integration.secretFingerprint {
            return cached.secret
        }
        let secret = try store.integrationSecret(id: integration.id)
        clientSecrets[integration.id] = (integration.secretFingerprint, secret)
        return secret
    }

    /// The integration's private key, loaded once per key and kept; a bad key is the integration's configuration
    /// error.
    private func signingKey(_ integration: Integration, _ secret: Secret?) -> Result<SigningKey, ProviderError> {
        let cacheKey = integration.id + "/" + (integration.secretFingerprint ?? "")
        if let key = signingKeys[cacheKey] { return .success(key) }
        guard integration.secretKind == .privateKey, let secret else {
            return .failure(
                ProviderError(
                    kind: .configuration, error: "no_private_key",
                    errorDescription:
                        "integration \(integration.id) has no private key; import it with private_key_file"))
        }
        do {
            let key = try SigningKey(pem: secret.value, label: "the private key of integration \(integration.id)")
            signingKeys[cacheKey] = key
            return .success(key)
        } catch {
            return .failure(
                ProviderError(kind: .configuration, error: "invalid_signing_key", errorDescription: error.message))
        }
    }

    /// A store that cannot be read or written: keep the stored token, show the problem, and try again later.
    private func record(storageFailure error: any Error, for connection: Connection) {
        record(storageFailure: "\(error)", for: connection, keyChanged: (error as? StoreError)?.code == .keyChanged)
    }

    /// Keeps a revocation the provider refused in the connection's history and as its last error, as a failed
    /// refresh is kept; shown as an event even when the store cannot take it.
    private func record(revocationFailure error: ProviderError, of connection: Connection, message: String? = nil) {
        let at = clock.now()
        let message = message ?? "revocation failed at the provider, nothing was changed: \(error.summary)"
        let entry = HistoryEntry(
            at: at, connectionID: connection.id, kind: .revocationFailed, message: message, error: error)
        if let failed = try? store.recordRevocationFailure(
            connectionID: connection.id, error: error, at: at, message: message)
        {
            state.update(failed, event: entry)
        } else {
            state.append(event: entry)
        }
    }

    /// Keeps in the connection's history that the provider rotated its refresh token in an answer that was then
    /// discarded, because another process wrote the connection meanwhile: a later refusal of the refresh token
    /// finds its reason there.
    /// - Parameter certain: false when no answer was read, so the provider may have rotated it.
    private func record(lostRotation error: StoreError, of connection: Connection, revoked: Bool, certain: Bool) {
        let consequence =
            revoked
            ? "the connection was revoked meanwhile, and that token was not revoked at the provider"
            : "the connection keeps what the other process stored; if that is the spent token, the next refresh will "
                + "probably be refused, and the connection then needs re-auth"
        let entry = HistoryEntry(
            at: clock.now(), connectionID: connection.id, kind: .refreshFailed,
            message: "refresh result discarded: \(error.fact); "
                + (certain
                    ? "the provider had already issued a new refresh token, which was not stored: "
                    : "its request got no answer in time, and the provider may have issued a new refresh token in "
                        + "the answer that was not read: ") + consequence)
        state.append(event: entry)
        try? store.appendHistory(entry, shownHere: true, briefly: true)
    }

    /// - Parameter kept: whether the entry is also written into the connection's history, when the store still
    ///   takes a write: a rotated refresh token was lost, and the next refresh's refusal must find its reason there.
    private func record(
        storageFailure problem: String, for connection: Connection, keyChanged: Bool = false, kept: Bool = false
    ) {
        let now = clock.now()
        state.setNotice("database problem: \(problem)")
        let entry = HistoryEntry(
            at: now, connectionID: connection.id, kind: .refreshFailed,
            message: "\(kept ? "new tokens not stored" : "refresh not recorded"), database problem: \(problem)")
        state.append(event: entry)
        // A history entry seals nothing, so a changed key does not refuse it; a lock is not waited out, as the new
        // tokens' write already waited for it.
        if kept { try? store.appendHistory(entry, shownHere: true, briefly: true) }
        // A key changed under us will not come back by itself: look again rarely, and say so in the notice.
        let delay = keyChanged ? policy.backoffCap : policy.backoff(failures: 1, retryAfter: nil)
        queue.schedule(connection.id, at: now.addingTimeInterval(delay))
    }

    // MARK: - Provider outages

    /// Asks the provider's breaker whether a due refresh may go out; a held one waits in the breaker.
    private func admit(_ id: String, at now: Date) -> Bool {
        guard let connection = state.connection(id), let integration = state.integration(connection.integrationID)
        else { return true }
        return breaker.admit(id, provider: integration.provider, at: now) != .held
    }

    /// Tells the provider's breaker how a request went; a breaker that closes releases what it held, spread out.
    private func noteOutcome(_ id: String, provider: String, _ result: Result<TokenGrant, ProviderError>) {
        let now = clock.now()
        let failure: ProviderError? = if case .failure(let error) = result { error } else { nil }
        if case .closed(_, _, let released) = breaker.record(id, provider: provider, failure: failure, at: now) {
            for held in released {
                guard let due = state.connection(held).flatMap(policy.dueAt) else { continue }
                queue.schedule(held, at: max(due, breaker.releaseTime(after: now)))
            }
        }
        state.setOutages(breaker.outages)
    }

    func finish(_ id: String) {
        inFlight.remove(id)
        breaker.abandon(id, at: clock.now())
        for waiter in waiters.removeValue(forKey: id) ?? [] { waiter.resume() }
        // The freed slot goes to the next due connection now, not after the loop's next nap: with a backlog, the
        // nap left each slot idle for up to 10 ms, which capped the actor at a few hundred refreshes a second.
        if looping { startDue(at: clock.now()) }
    }

    /// Waits for one of the policy's request slots; false when a stop began first, and no slot is held.
    private func acquireSlot() async -> Bool {
        guard !gate.isClosed else { return false }
        if sending < policy.concurrency {
            sending += 1
            return true
        }
        return await withCheckedContinuation { slotWaiters.append($0) }
    }

    /// Hands the slot to the longest waiting refresh, or frees it; once a stop began, frees it and turns every
    /// waiting refresh away.
    private func releaseSlot() {
        if slotWaiters.isEmpty || gate.isClosed {
            sending -= 1
            refuseWaitingRefreshes()
        } else {
            slotWaiters.removeFirst().resume(returning: true)
        }
    }

    /// Once a stop began: the refreshes waiting for a slot send nothing, and give their leases back.
    func refuseWaitingRefreshes() {
        guard gate.isClosed else { return }
        let waiting = slotWaiters
        slotWaiters = []
        for waiter in waiting { waiter.resume(returning: false) }
    }

    private func storage<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw EngineError(.storage, "database problem: \(error)") }
    }
}
