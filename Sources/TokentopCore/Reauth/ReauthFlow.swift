import Foundation

/// One re-authorization from start to stored tokens: the browser flow or the device flow, then one store
/// transaction. Every way it can end leaves a history entry on the connection.
struct ReauthFlow: Sendable {
    let store: Store
    let client: OAuthClient
    let clock: any TimeSource
    let policy: RefreshPolicy
    let connection: Connection
    let integration: Integration
    let method: ReauthMethod
    let options: ReauthOptions
    /// Receives each step as it happens.
    let publish: @Sendable (ReauthProgress) -> Void

    /// How long the store step waits for another process's refresh of the old grant to finish.
    static let leaseWait = 10.0

    /// How the flow ended, and the history entry it wrote.
    struct Outcome: Sendable {
        var progress: ReauthProgress
        var event: HistoryEntry
    }

    /// The scopes asked for: the integration's, or else those the connection was granted before.
    var scopes: [String] { integration.scopes.isEmpty ? connection.grantedScopes : integration.scopes }

    func run() async -> Outcome {
        do throws(ReauthFailure) {
            let secret = try clientSecret()
            try checkClientAuthentication(secret)
            let grant: TokenGrant
            switch method {
            case .authorizationCode: grant = try await browserGrant(secret)
            case .deviceCode: grant = try await deviceGrant(secret)
            }
            let (updated, event) = try await save(grant)
            return Outcome(progress: .succeeded(updated), event: event)
        } catch {
            return Outcome(progress: .failed(error), event: record(error))
        }
    }

    /// Builds, and sends nowhere, a request to the token endpoint, so that a configuration no request can go out
    /// with (a private_key_jwt integration without a usable key, a private key where a secret belongs) stops the
    /// sign-in before the user is sent to sign in, rather than at the code's exchange afterwards.
    private func checkClientAuthentication(_ secret: Secret?) throws(ReauthFailure) {
        do {
            _ = try client.makeRequest(
                url: integration.tokenURL, integration: integration, clientSecret: secret, fields: [])
        } catch {
            throw Self.notSent(error, integration: integration.id)
        }
    }

    // MARK: - Browser (authorization code with PKCE, loopback redirect)

    private func browserGrant(_ secret: Secret?) async throws(ReauthFailure) -> TokenGrant {
        let redirect = try LoopbackRedirect(registered: integration.redirectURI, integrationID: integration.id)
        let listener = try LoopbackListener(redirect)
        defer { listener.close() }
        let request = try AuthorizationRequest(
            integration: integration, redirectURI: listener.redirectURI, scopes: scopes)
        let timeout = options.timeout ?? ReauthOptions.defaultBrowserTimeout
        publish(
            .waitingForBrowser(
                ReauthProgress.BrowserStep(
                    url: try request.url(), redirectURI: listener.redirectURI,
                    deadline: clock.now().addingTimeInterval(timeout))))
        let parameters = try await listener.receive(timeout: timeout) { request.reply(for: $0) }
        let code = try request.code(from: parameters).get()
        publish(.exchanging(.authorizationCode))
        let result = await client.authorizationCode(
            integration: integration, clientSecret: secret, code: Secret(code), redirectURI: listener.redirectURI,
            verifier: request.pkce.verifier)
        switch result {
        case .success(let grant): return grant
        case .failure where Task.isCancelled: throw Self.cancelled
        case .failure(let error): throw tokenFailure(error, refused: "the authorization code")
        }
    }

    // MARK: - Device authorization (RFC 8628)

    private func deviceGrant(_ secret: Secret?) async throws(ReauthFailure) -> TokenGrant {
        let started = clock.now()
        let authorization: DeviceAuthorization
        switch await client.deviceAuthorization(integration: integration, clientSecret: secret, scopes: scopes) {
        case .success(let answer): authorization = answer
        // Esc before the provider answered: the request was abandoned, not refused.
        case .failure where Task.isCancelled: throw Self.cancelled
        case .failure(let error) where error.foundBeforeSending:
            throw Self.notSent(error, integration: integration.id)
        case .failure(let error):
            throw ReauthFailure(
                .provider,
                "the device authorization endpoint of integration \(integration.id) refused: \(error.summary); "
                    + "nothing was stored", providerError: error)
        }
        var step = ReauthProgress.DeviceStep(
            userCode: authorization.userCode, verificationURI: authorization.verificationURI,
            verificationURIComplete: authorization.verificationURIComplete,
            expiresAt: started.addingTimeInterval(authorization.expiresIn), interval: authorization.interval)
        publish(.waitingForDevice(step))
        // A poll at or after the code's expiry can only fail, so the flow never sleeps past it: it ends there by
        // itself, or at the operator's timeout when that comes first.
        let ownLimit = options.timeout.map { $0 < authorization.expiresIn } ?? false
        let deadline = ownLimit ? started.addingTimeInterval(options.timeout ?? 0) : step.expiresAt
        var tally = DevicePollTally()
        while true {
            let left = deadline.timeIntervalSince(clock.now())
            do {
                if left > 0 { try await clock.sleep(seconds: min(step.interval, left)) }
            } catch {
                throw Self.cancelled
            }
            if Task.isCancelled { throw Self.cancelled }
            if left <= step.interval {
                throw deviceDeadlinePassed(ownLimit: ownLimit, authorization: authorization, tally: tally)
            }
            let result = await client.deviceToken(
                integration: integration, clientSecret: secret, deviceCode: authorization.deviceCode)
            let failed: ProviderError? = if case .failure(let error) = result { error } else { nil }
            tally.record(failed)
            switch result {
            case .success(let grant):
                publish(.exchanging(.deviceCode))
                return grant
            case .failure(let error):
                switch error.error {
                case "authorization_pending": break
                case "slow_down":
                    step.interval = min(step.interval + 5, DeviceAuthorization.longestInterval)
                    publish(.waitingForDevice(step))
                case "expired_token":
                    throw ReauthFailure(
                        .expired,
                        "the device code expired before the user approved it (expired_token); nothing was stored; "
                            + "run the re-auth again for a new code", providerError: error)
                case "access_denied":
                    throw ReauthFailure(
                        .denied, "the user denied the device code (access_denied); nothing was stored",
                        providerError: error)
                default:
                    if Task.isCancelled { throw Self.cancelled }
                    guard error.kind == .transient else { throw tokenFailure(error, refused: "the device code") }
                    // RFC 8628 §3.5: after a failed connection, poll less often.
                    step.interval = min(step.interval * 2, DeviceAuthorization.longestInterval)
                    publish(.waitingForDevice(step))
                }
            }
            if clock.now() >= deadline {
                throw deviceDeadlinePassed(ownLimit: ownLimit, authorization: authorization, tally: tally)
            }
        }
    }

    /// The failure when the device code expired, or the operator's timeout passed, with no approval seen.
    ///
    /// When the token endpoint answered the last polls with a server error, or not at all, nobody can say whether
    /// the user approved: the message says that the provider was failing instead, and how. It never quotes the
    /// device code.
    private func deviceDeadlinePassed(
        ownLimit: Bool, authorization: DeviceAuthorization, tally: DevicePollTally
    ) -> ReauthFailure {
        let waited = Countdown.format(seconds: ownLimit ? options.timeout ?? 0 : authorization.expiresIn)
        let code: ReauthFailure.Code = ownLimit ? .timedOut : .expired
        if let trouble = tally.trouble, tally.failingAtTheEnd {
            let what =
                ownLimit
                ? "no approval of the device code came within \(waited)"
                : "the device code expired (after \(waited)) before tokentop saw an approval"
            let again = ownLimit ? "run the re-auth again" : "run the re-auth again for a new code"
            return ReauthFailure(
                code,
                "\(what): \(trouble), so the user may have approved it unseen; nothing was stored; \(again) once "
                    + "the provider's token endpoint answers", providerError: tally.lastFailure)
        }
        let earlier = tally.trouble.map { "; \($0)" } ?? ""
        if ownLimit {
            return ReauthFailure(
                code, "the user did not approve the device code within \(waited)\(earlier); nothing was stored")
        }
        return ReauthFailure(
            code,
            "the device code expired before the user approved it (after \(waited))\(earlier); nothing was stored; "
                + "run the re-auth again for a new code")
    }

    // MARK: - Storing

    /// Writes the new tokens under the connection's refresh lease and returns the connection and its history
    /// entry.
    private func save(_ answer: TokenGrant) async throws(ReauthFailure) -> (Connection, HistoryEntry) {
        var grant = answer
        var notes = [
            method == .authorizationCode
                ? "re-authorized: the user signed in in a browser (authorization code with PKCE)"
                : "re-authorized: the user approved the device code",
            grant.refreshToken == nil ? "no refresh token issued" : "new refresh token",
        ]
        if grant.expiresIn == nil {
            grant.expiresIn = policy.unknownExpiryLifetime
            grant.expiryAssumed = true
            let why = grant.unusableExpiry ?? "no expiry in the answer"
            notes.append("\(why), assuming \(Countdown.format(seconds: policy.unknownExpiryLifetime))")
        } else if let lifetime = grant.expiresIn, lifetime < policy.minimumInterval {
            notes.append(policy.shortLifetimeNote(lifetime))
        }
        if let shortened = grant.shortenedExpiry { notes.append(shortened) }
        let granted = grant.scopes ?? (scopes.isEmpty ? connection.grantedScopes : scopes)
        if let other = grant.signedInUser?.contradiction(with: connection.subject) {
            throw ReauthFailure(
                .wrongUser,
                "\(other) signed in, but \(connection.id) is the connection of \(connection.subject); nothing was "
                    + "stored; run the re-auth again and sign in as \(connection.subject)")
        }
        // FIXME: who signed in is checked only against an ID token's e-mail address, for a subject that is one; a
        // provider that sends no ID token (no openid scope) is taken at its word, with no userinfo call.
        let message = notes.joined(separator: "; ")
        let owner = "reauth:\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8))"
        var attempt = 0
        // The user has signed in and the provider issued the tokens: a database that stays locked past the busy
        // timeout, or a full disk, is waited out for a minute rather than losing them.
        var retry = StoreRetry(from: clock.now())
        var lease: Lease?
        var claimed = false
        while true {
            attempt += 1
            // Claimed once: a write that failed changed nothing, so the lease is still this flow's.
            if !claimed {
                lease = await claimLease(owner: owner)
                claimed = true
            }
            let at = clock.now()
            do {
                let updated = try store.recordReauthorization(
                    connectionID: connection.id, grant: grant, grantedScopes: granted, at: at, message: message,
                    lease: lease)
                let event = HistoryEntry(at: at, connectionID: connection.id, kind: .reauthorized, message: message)
                return (updated, event)
            } catch let error as StoreError where error.code == .leaseLost && attempt < 3 {
                // Someone wrote the connection between the claim and the write: claim again on the fresh row.
                claimed = false
                continue
            } catch let error as StoreError where error.mayPass {
                // The lease stays while the write is tried again, so that no refresher sends the old token meanwhile.
                // Cancelling gives the held tokens up: the operator chose not to wait for the database.
                if !Task.isCancelled {
                    publish(.waitingToStore(error.fact))
                    if await retry.wait(after: error, clock: clock) { continue }
                }
                if let lease { try? store.releaseLease(connectionID: connection.id, lease) }
                if Task.isCancelled { throw storeCancelled(error) }
                throw ReauthFailure(
                    .storage,
                    "the sign-in succeeded but its tokens could not be stored within a minute (\(error.fact)), so "
                        + "they are lost; run the re-auth again once the database can be written")
            } catch {
                if let lease { try? store.releaseLease(connectionID: connection.id, lease) }
                throw ReauthFailure(
                    .storage,
                    "the sign-in succeeded but its tokens could not be stored, so nothing changed: \(error); run "
                        + "the re-auth again")
            }
        }
    }

    /// The refresh lease, waiting up to ``leaseWait`` for another process's refresh to end; nil when it stays
    /// taken or cannot be read (the write then goes ahead without it).
    private func claimLease(owner: String) async -> Lease? {
        let giveUp = clock.now().addingTimeInterval(Self.leaseWait)
        while true {
            let now = clock.now()
            do {
                if let (_, lease) = try store.claimLease(
                    connectionID: connection.id, owner: owner, until: now.addingTimeInterval(60), now: now)
                {
                    return lease
                }
            } catch {
                return nil
            }
            guard now < giveUp, !Task.isCancelled else { return nil }
            try? await clock.sleep(seconds: 0.25)
        }
    }

    // MARK: - Failures

    /// Writes the failure to the connection's history; the connection's facts and tokens stay as they were.
    private func record(_ failure: ReauthFailure) -> HistoryEntry {
        let message =
            failure.code == .cancelled ? "re-auth cancelled; nothing was stored" : "re-auth failed: \(failure.message)"
        let entry = HistoryEntry(
            at: clock.now(), connectionID: connection.id, kind: .reauthFailed, message: message,
            error: failure.providerError)
        // A history that cannot be written is not worth failing over: the outcome still reaches the caller. An
        // operator who cancelled wants the prompt back: another process's lock is not waited out for it.
        try? store.appendHistory(entry, shownHere: true, briefly: failure.code == .cancelled)
        return entry
    }

    static let cancelled = ReauthFailure(.cancelled, "the re-auth was cancelled; nothing was stored")

    /// A cancel while the database could not take the tokens: they are dropped, and the connection is as it was.
    private func storeCancelled(_ error: StoreError) -> ReauthFailure {
        ReauthFailure(
            .cancelled,
            "the re-auth was cancelled while the database could not take the new tokens (\(error.fact)); they were "
                + "not stored and \(connection.id) is as it was; run the re-auth again once the database can be "
                + "written")
    }

    /// The integration's client secret, or its private key when it signs a client assertion with it
    /// (`private_key_jwt`); another key integration signs nothing here and sends none.
    private func clientSecret() throws(ReauthFailure) -> Secret? {
        guard integration.secretKind == .clientSecret || integration.clientAuth == .privateKeyJWT else { return nil }
        do {
            return try store.integrationSecret(id: integration.id)
        } catch {
            throw ReauthFailure(.storage, "cannot read the client secret of integration \(integration.id): \(error)")
        }
    }

    /// A request this integration's configuration stopped before it left.
    /// - Parameter what: the code the request would have exchanged, when the user had already signed in for it.
    private static func notSent(_ error: ProviderError, integration id: String, exchanging what: String? = nil)
        -> ReauthFailure
    {
        let message =
            what.map {
                "integration \(id) cannot exchange \($0) as configured: \(error.summary); the user's sign-in was not "
                    + "used: nothing was sent to the token endpoint, and nothing was stored"
            } ?? "integration \(id) cannot sign in as configured: \(error.summary); nothing was sent or stored"
        return ReauthFailure(.provider, message, providerError: error)
    }

    /// A token endpoint's refusal, in words that say what to do.
    private func tokenFailure(_ error: ProviderError, refused what: String) -> ReauthFailure {
        if error.foundBeforeSending { return Self.notSent(error, integration: integration.id, exchanging: what) }
        let message: String
        switch error.kind {
        case .invalidGrant:
            message =
                "the provider refused \(what) (\(error.summary)): it expired or was used already, or the PKCE "
                + "verifier did not match; nothing was stored; run the re-auth again"
        case .configuration:
            message =
                "the token endpoint refused (\(error.summary)); check integration \(integration.id)'s client id, "
                + "secret and authentication method; nothing was stored"
        case .transient:
            message = "the token endpoint did not answer usefully (\(error.summary)); nothing was stored; try again"
        case .malformed:
            message = "the token endpoint's answer could not be understood (\(error.summary)); nothing was stored"
        }
        return ReauthFailure(.provider, message, providerError: error)
    }
}
