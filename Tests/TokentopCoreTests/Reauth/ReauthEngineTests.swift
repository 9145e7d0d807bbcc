import Foundation
import Testing

@testable import TokentopCore

/// Users' re-authorizations through the engine: the real flows, listener, store and audit log, against an
/// in-process authorization server behind the HTTP seam. The test plays the user and the browser.
@Suite struct ReauthEngineTests {
    let clock = TestClock()

    /// An engine whose store holds user connection `alice`, refused by the provider (so it needs re-auth), and bot
    /// connection `robot`.
    /// - Parameter failure: the error of alice's last refresh instead, with no re-auth reason recorded.
    func makeEngine(
        _ provider: SignInProvider, device: Bool = false, authorizationURL: Bool = true, redirect: String? = nil,
        readOnly: Bool = false, failure: ProviderError? = nil, edit: String? = nil
    ) throws -> Engine {
        let store = try Store.open(
            path: try temporaryDirectory().appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        var integration: [String: Any] = [
            "id": "signin", "provider": "signin", "token_url": SignInProvider.tokenURL.absoluteString,
            "client_id": SignInProvider.clientID, "client_secret": SignInProvider.clientSecret,
            "client_auth": "client_secret_basic", "scopes": ["read", "write"],
        ]
        if authorizationURL { integration["authorization_url"] = SignInProvider.authorizeURL.absoluteString }
        if device { integration["device_authorization_url"] = SignInProvider.deviceURL.absoluteString }
        if let redirect { integration["redirect_uri"] = redirect }
        let connections: [[String: Any]] = [
            [
                "id": "alice", "integration": "signin", "scope": "user", "subject": "alice@example.com",
                "access_token": "fake-access-token-old-0001", "refresh_token": "fake-refresh-token-old-0001",
                "expires_in": 60, "granted_scopes": ["read"],
            ],
            [
                "id": "robot", "integration": "signin", "scope": "bot", "subject": "robot",
                "grant": "client_credentials", "access_token": "fake-access-token-bot-0001", "expires_in": 600,
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": [integration], "connections": connections,
        ])
        _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        try store.recordRefreshFailure(
            connectionID: "alice",
            error: failure ?? ProviderError(kind: .invalidGrant, error: "invalid_grant", status: 400), retryAt: nil,
            reauthReason: failure == nil ? "the provider refused the grant: invalid_grant (HTTP 400)" : nil,
            at: clock.now())
        // What no import lets through, as a hand-edited or long-restored store may hold it.
        if let edit { try store.locked { try store.database.execute(edit) } }
        return try Engine(
            store: store, transport: provider, timeSource: clock, user: "operator", readOnly: readOnly)
    }

    /// The first step `pick` accepts; fails when the flow ends before one.
    func step<T>(_ session: ReauthSession, _ pick: (ReauthProgress) -> T?) async throws -> T {
        for await progress in session.updates() {
            if let value = pick(progress) { return value }
            if progress.isFinished { throw SignInError("the flow ended before the step: \(progress)") }
        }
        throw SignInError("the session's updates ended")
    }

    func browserStep(_ session: ReauthSession) async throws -> ReauthProgress.BrowserStep {
        try await step(session) { if case .waitingForBrowser(let step) = $0 { step } else { nil } }
    }

    /// Follows the browser's redirect back to `url`, expects the page that closes the sign-in, and returns the
    /// connection the session stored; nil (with the issue recorded) when it did not succeed.
    func signedIn(at url: URL, _ session: ReauthSession) async throws -> Connection? {
        let page = try await Browser.get(url.absoluteString)
        #expect(page.status == 200)
        #expect(page.body.contains("You can close this tab"))
        guard case .succeeded(let after) = await session.outcome() else {
            Issue.record("no success: \(session.progress)")
            return nil
        }
        return after
    }

    func failureOf(_ progress: ReauthProgress) -> ReauthFailure? {
        if case .failed(let failure) = progress { failure } else { nil }
    }

    func stateParameter(_ url: URL) -> String {
        SignInProvider.query(URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery ?? "")[
            "state"] ?? ""
    }

    // MARK: - Browser

    @Test func aBrowserSignInReplacesTheTokensAndClearsNeedsReauth() async throws {
        let provider = SignInProvider()
        let engine = try makeEngine(provider)
        let before = try #require(try engine.store.connection(id: "alice"))
        #expect(before.status(at: clock.now(), policy: .standard) == .needsReauth)

        let session = try engine.startReauth("alice")
        #expect(session.method == .authorizationCode)
        let step = try await browserStep(session)
        #expect(step.url.absoluteString.hasPrefix("https://signin.sandbox.invalid/authorize?prompt=consent&"))
        #expect(step.redirectURI.hasPrefix("http://127.0.0.1:"))
        #expect(step.deadline == clock.now().addingTimeInterval(ReauthOptions.defaultBrowserTimeout))
        guard let after = try await signedIn(at: try provider.authorize(step.url), session) else { return }
        #expect(after.reauthReason == nil)
        #expect(after.failures == 0)
        #expect(after.lastError == nil)
        #expect(after.grant == .refreshToken)
        #expect(after.grantedScopes == ["read", "write"])
        #expect(after.expiresAt == clock.now().addingTimeInterval(3600))
        #expect(after.status(at: clock.now(), policy: .standard) == .healthy)
        let tokens = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(tokens.access?.value.hasPrefix("fake-access-token-new-") == true)
        #expect(tokens.refresh?.value.hasPrefix("fake-refresh-token-new-") == true)
        #expect(after.refreshFingerprint == tokens.refresh?.fingerprint)
        #expect(try engine.store.connection(id: "alice") == after)
        #expect(engine.snapshot().connections.first { $0.id == "alice" } == after)
        #expect(engine.snapshot().events.last?.kind == .reauthorized)
        let history = try engine.store.history(connectionID: "alice", limit: 1)
        #expect(
            history.first?.message
                == "re-authorized: the user signed in in a browser (authorization code with PKCE); new refresh token")
        let audit = try engine.store.auditLog().suffix(2).map { "\($0.action.rawValue) \($0.outcome) \($0.user)" }
        #expect(audit == ["reauth started operator", "reauth ok operator"])

        // The code went to the token endpoint with its verifier, and the client authenticated in the header.
        let exchange = try #require(provider.requests.last)
        let form = SignInProvider.query(String(decoding: exchange.body, as: UTF8.self))
        #expect(form["grant_type"] == "authorization_code")
        #expect(form["redirect_uri"] == step.redirectURI)
        #expect(form["code_verifier"]?.count == 64)
        #expect(form["client_secret"] == nil)
        #expect(exchange.header("Authorization")?.hasPrefix("Basic ") == true)
    }

    /// An ID token naming someone else stops the sign-in before anything is stored; one naming the subject (in
    /// another letter case) signs in.
    @Test func aSignInAsSomeoneElseStoresNothing() async throws {
        let provider = SignInProvider()
        provider.signIn(as: "bob@example.com")
        let engine = try makeEngine(provider)
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        _ = try await Browser.get(try provider.authorize(step.url).absoluteString)
        guard case .failed(let failure) = await session.outcome() else {
            Issue.record("no failure: \(session.progress)")
            return
        }
        #expect(failure.code == .wrongUser)
        #expect(
            failure.message
                == "bob@example.com signed in, but alice is the connection of alice@example.com; nothing was stored; "
                + "run the re-auth again and sign in as alice@example.com")
        #expect(try engine.store.tokenSecrets(connectionID: "alice") == before)
        #expect(try engine.store.connection(id: "alice")?.reauthReason != nil)

        provider.signIn(as: "Alice@Example.com")
        let again = try engine.startReauth("alice")
        let retry = try await browserStep(again)
        guard let after = try await signedIn(at: try provider.authorize(retry.url), again) else { return }
        #expect(after.reauthReason == nil)
    }

    /// alice's browser sign-in started, and the provider's redirect with its code, not yet followed.
    func signInToTheRedirect() async throws -> (
        SignInProvider, Engine, ReauthSession, ReauthProgress.BrowserStep, URL, String
    ) {
        let provider = SignInProvider()
        let engine = try makeEngine(provider)
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        let redirect = try provider.authorize(step.url)
        let code = try #require(SignInProvider.query(redirect.query ?? "")["code"])
        return (provider, engine, session, step, redirect, code)
    }

    /// Any program on this machine can reach the listener, so a request with another state, or none, must not end
    /// the sign-in: it gets a 400 page that repeats none of its values, its code is never exchanged, and the real
    /// redirect still signs the user in.
    @Test func requestsWithAnotherStateOrNoneAreIgnoredAndTheRealRedirectSignsIn() async throws {
        let (provider, engine, session, step, redirect, code) = try await signInToTheRedirect()
        // The real code with a forged state: exchanging it would spend it, and the real redirect would then fail.
        let forged = try await Browser.get(
            redirect.absoluteString.replacingOccurrences(of: stateParameter(step.url), with: "fake-forged-state-0001"))
        let stateless = try await Browser.get("\(step.redirectURI)?code=fake-code-planted-0001")
        for page in [forged, stateless] {
            #expect(page.status == 400)
            #expect(page.body.contains("This sign-in link is not the one tokentop is waiting for"))
            #expect(page.headers["cache-control"] == "no-store")
            for value in [code, "fake-forged-state-0001", "fake-code-planted-0001", stateParameter(step.url)] {
                #expect(!page.body.contains(value))
            }
        }
        #expect(forged.body.contains("it carries another state"))
        #expect(stateless.body.contains("it carries no state"))
        guard case .waitingForBrowser = session.progress else {
            Issue.record("the sign-in ended: \(session.progress)")
            return
        }
        #expect(!provider.requests.contains { $0.url.path == "/token" })

        guard let after = try await signedIn(at: redirect, session) else { return }
        #expect(after.reauthReason == nil)
        let tokens = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(tokens.access?.value.hasPrefix("fake-access-token-new-") == true)
        #expect(tokens.refresh?.value.hasPrefix("fake-refresh-token-new-") == true)
        let exchanges = provider.requests.filter { $0.url.path == "/token" }
        #expect(exchanges.map { SignInProvider.query(String(decoding: $0.body, as: UTF8.self))["code"] } == [code])
    }

    /// RFC 6749 §3.1: no parameter twice. Which code would be exchanged is anyone's guess, so none is: the redirect
    /// gets a 400 page naming the parameter, and the real redirect still signs the user in.
    @Test func aRedirectRepeatingAParameterIsIgnored() async throws {
        let (provider, _, session, step, redirect, code) = try await signInToTheRedirect()
        for extra in ["&code=fake-code-planted-0001", "&state=fake-forged-state-0001"] {
            let page = try await Browser.get(redirect.absoluteString + extra)
            #expect(page.status == 400)
            let name = extra.hasPrefix("&code") ? "code" : "state"
            #expect(page.body.contains("This redirect carries the parameter \(name) more than once"), "\(page.body)")
            for value in [code, "fake-code-planted-0001", "fake-forged-state-0001", stateParameter(step.url)] {
                #expect(!page.body.contains(value))
            }
        }
        #expect(!provider.requests.contains { $0.url.path == "/token" })
        guard let after = try await signedIn(at: redirect, session) else { return }
        #expect(after.reauthReason == nil)
        let exchanges = provider.requests.filter { $0.url.path == "/token" }
        #expect(exchanges.map { SignInProvider.query(String(decoding: $0.body, as: UTF8.self))["code"] } == [code])
    }

    /// A time-out after ignored requests says how many came, so an operator can tell that something odd happened;
    /// it names none of their values.
    @Test(.timeLimit(.minutes(2))) func aTimeOutCountsTheRequestsThatWereIgnored() async throws {
        let engine = try makeEngine(SignInProvider())
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        // Long enough for four requests on a loaded machine: at 4 s the listener once closed under the second.
        let session = try engine.startReauth("alice", options: ReauthOptions(timeout: 10))
        let step = try await browserStep(session)
        for serial in 1...2 {
            let page = try await Browser.get(
                "\(step.redirectURI)?code=fake-code-planted-000\(serial)&state=fake-forged-state-000\(serial)")
            #expect(page.status == 400)
        }
        #expect(try await Browser.get("\(step.redirectURI)?error=access_denied").status == 400)
        #expect(try await Browser.get(step.redirectURI).status == 400)
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .timedOut)
        #expect(
            failure.message
                == "no redirect reached \(step.redirectURI) within 10s; 2 requests with another state, 1 without a "
                + "state and 1 without a code or an error were ignored there (a browser tab left from an earlier "
                + "sign-in, or another program on this machine); nothing was stored; run the re-auth again and "
                + "finish the sign-in sooner")
        try expectUnchanged(engine, tokens: before)
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).first)
        #expect(entry.message == "re-auth failed: \(failure.message)")
    }

    @Test func aDeniedConsentIsRecordedOnTheConnection() async throws {
        let engine = try makeEngine(SignInProvider())
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        let state = stateParameter(step.url)
        let page = try await Browser.get(
            "\(step.redirectURI)?error=access_denied&error_description=Denied+by+alice&state=\(state)")
        #expect(page.body.contains("declined the consent"))
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .denied)
        try expectUnchanged(engine, tokens: before)
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).first)
        #expect(entry.kind == .reauthFailed)
        #expect(
            entry.message == "re-auth failed: the user declined the consent (access_denied: Denied by alice); "
                + "nothing was stored")
        #expect(entry.error?.error == "access_denied")
        #expect(try engine.store.auditLog().last?.outcome == "failed")
    }

    @Test func aCodeTheProviderRefusesIsAProviderError() async throws {
        let engine = try makeEngine(SignInProvider())
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        _ = try await Browser.get("\(step.redirectURI)?code=fake-code-unknown&state=\(stateParameter(step.url))")
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .provider)
        #expect(failure.message.hasPrefix("the provider refused the authorization code (invalid_grant (HTTP 400)"))
        #expect(failure.providerError?.status == 400)
        try expectUnchanged(engine, tokens: before)
    }

    @Test func aTakenPortFailsBeforeAnyURLIsShown() async throws {
        let holder = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/x"))
        defer { holder.close() }
        let engine = try makeEngine(SignInProvider(), redirect: "http://127.0.0.1:\(holder.port)/callback")
        let session = try engine.startReauth("alice")
        var seen: [ReauthProgress] = []
        for await progress in session.updates() { seen.append(progress) }
        #expect(seen.count == 2)
        let last = try #require(seen.last)
        let failure = try #require(failureOf(last))
        #expect(failure.code == .listenerFailed)
        #expect(failure.message.hasPrefix("port \(holder.port) on 127.0.0.1 is taken by another program"))
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).first)
        #expect(entry.message.hasPrefix("re-auth failed: port \(holder.port) on 127.0.0.1 is taken"))
    }

    @Test func cancellingStopsTheListenerAndSaysSo() async throws {
        let engine = try makeEngine(SignInProvider())
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        engine.cancelReauth(for: "alice")
        #expect(engine.reauthProgress(for: "alice") == nil)
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .cancelled)
        try expectUnchanged(engine, tokens: before)
        #expect(
            try engine.store.history(connectionID: "alice", limit: 1).first?.message
                == "re-auth cancelled; nothing was stored")
        #expect(try engine.store.auditLog().last?.outcome == "cancelled")
        await #expect(throws: (any Error).self) { _ = try await Browser.get(step.redirectURI) }
    }

    /// Esc before the device authorization endpoint answered abandons the request: a cancellation, not the
    /// provider refusing ("refused: network_error: CancellationError" before).
    @Test func cancellingBeforeTheDeviceEndpointAnswersIsACancellation() async throws {
        let provider = SignInProvider()
        provider.delayDeviceAuthorization(seconds: 30)
        let engine = try makeEngine(provider, device: true)
        let session = try engine.startReauth("alice")
        while provider.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        engine.cancelReauth(for: "alice")
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .cancelled, "\(failure.message)")
        #expect(
            try engine.store.history(connectionID: "alice", limit: 1).first?.message
                == "re-auth cancelled; nothing was stored")
        #expect(try engine.store.auditLog().last?.outcome == "cancelled")
    }

    @Test func stoppingTheEngineCancelsASignInInProgress() async throws {
        let engine = try makeEngine(SignInProvider())
        let session = try engine.startReauth("alice")
        _ = try await browserStep(session)
        await engine.stop()
        #expect(failureOf(session.progress)?.code == .cancelled)
    }

    @Test func aSecondStartReturnsTheRunningSession() async throws {
        let engine = try makeEngine(SignInProvider())
        let first = try engine.startReauth("alice")
        let second = try engine.startReauth("alice")
        #expect(first === second)
        first.cancel()
        _ = await first.outcome()
        let third = try engine.startReauth("alice")
        #expect(third !== first)
        third.cancel()
        _ = await third.outcome()
    }

    @Test func aRevokedUserConnectionComesBack() async throws {
        let provider = SignInProvider()
        let engine = try makeEngine(provider)
        _ = try await engine.revokeNow("alice")
        let session = try engine.startReauth("alice")
        let step = try await browserStep(session)
        _ = try await Browser.get(try provider.authorize(step.url).absoluteString)
        guard case .succeeded(let after) = await session.outcome() else { throw SignInError("\(session.progress)") }
        #expect(after.revokedAt == nil)
        #expect(after.status(at: clock.now(), policy: .standard) == .healthy)
    }

    // MARK: - Device

    @Test func theDeviceFlowPollsThroughPendingAndSlowDown() async throws {
        let provider = SignInProvider()
        provider.setDevice(interval: 2, lifetime: 900)
        provider.script(polls: ["authorization_pending", "slow_down"])
        provider.decide(.approve)
        let engine = try makeEngine(provider, device: true)
        let session = try engine.startReauth("alice")
        #expect(session.method == .deviceCode)
        var steps: [ReauthProgress.DeviceStep] = []
        var last: ReauthProgress?
        for await progress in session.updates() {
            if case .waitingForDevice(let step) = progress { steps.append(step) }
            last = progress
        }
        guard case .succeeded(let after) = last else { throw SignInError("no success: \(String(describing: last))") }
        #expect(after.reauthReason == nil)
        #expect(provider.polls == 3)
        #expect(steps.map(\.interval) == [2, 7])
        let first = try #require(steps.first)
        #expect(first.userCode == "WDJB-MJHT")
        #expect(first.verificationURI.absoluteString == SignInProvider.verificationURI)
        let complete = SignInProvider.verificationURI + "?user_code=WDJB-MJHT"
        #expect(first.verificationURIComplete?.absoluteString == complete)
        #expect(first.expiresAt == clock.now().addingTimeInterval(900))
        #expect(ReauthProgress.waitingForDevice(first).textToCopy == complete)
        #expect(
            try engine.store.history(connectionID: "alice", limit: 1).first?.message
                == "re-authorized: the user approved the device code; new refresh token")
        let request = try #require(provider.requests.first)
        #expect(request.url == SignInProvider.deviceURL)
        let form = SignInProvider.query(String(decoding: request.body, as: UTF8.self))
        #expect(form == ["client_id": SignInProvider.clientID, "scope": "read write"])
    }

    @Test(arguments: [
        (SignInProvider.Decision.deny, ReauthFailure.Code.denied, "the user denied the device code (access_denied)"),
        (.expire, .expired, "the device code expired before the user approved it (expired_token)"),
    ])
    func aDeviceCodeThatIsNotApprovedStoresNothing(
        decision: SignInProvider.Decision, code: ReauthFailure.Code, message: String
    ) async throws {
        let provider = SignInProvider()
        provider.script(polls: ["authorization_pending"])
        provider.decide(decision)
        let engine = try makeEngine(provider, device: true)
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let failure = try #require(failureOf(await engine.startReauth("alice").outcome()))
        #expect(failure.code == code)
        #expect(failure.message.hasPrefix(message))
        try expectUnchanged(engine, tokens: before)
    }

    /// A sign-in its integration's configuration stops before any request leaves says so, in both flows, rather
    /// than that an endpoint refused it, and stops before the browser's step.
    @Test(arguments: [true, false]) func aSignInStoppedBeforeSendingSaysNothingWasSent(device: Bool) async throws {
        let provider = SignInProvider()
        // private_key_jwt with a client secret where the key belongs: no client assertion can be signed.
        let engine = try makeEngine(
            provider, device: device, authorizationURL: !device,
            edit: "UPDATE integrations SET client_auth = 'private_key_jwt' WHERE id = 'signin'")
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let session = try engine.startReauth("alice")
        // Before the user is sent to sign in: the code's exchange could not have gone out afterwards either.
        var shown: [ReauthProgress] = []
        for await progress in session.updates() {
            shown.append(progress)
            // Were the user sent to sign in, this test ends the flow rather than wait for its time-out.
            if case .waitingForBrowser = progress { engine.cancelReauth(for: "alice") }
        }
        #expect(!shown.contains { if case .waitingForBrowser = $0 { true } else { false } }, "\(shown)")
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .provider)
        #expect(failure.message.hasPrefix("integration signin cannot sign in as configured: "))
        #expect(failure.message.contains("nothing was sent or stored"))
        #expect(!failure.message.contains("refused"))
        #expect(provider.requests.isEmpty)
        try expectUnchanged(engine, tokens: before)
    }

    @Test func aDeviceCodeNobodyApprovesExpiresByTheClock() async throws {
        let clock = clock
        let provider = SignInProvider(onPoll: { clock.advance(6) })
        provider.setDevice(interval: 5, lifetime: 10)
        let engine = try makeEngine(provider, device: true)
        let failure = try #require(failureOf(await engine.startReauth("alice").outcome()))
        #expect(failure.code == .expired)
        #expect(failure.message.hasPrefix("the device code expired before the user approved it (after 10s)"))
        // One poll at 0 + 5 s moves the clock to 6 s; the next would come after the expiry, so none is sent.
        #expect(provider.polls == 1)
        #expect(clock.sleeps == [5, 4])
    }

    @Test(arguments: [
        // (interval the provider names, code lifetime, the waits, the polls sent)
        (1e12, 10, [10.0], 0),  // clamped to 60 s, but never past the expiry: ends at 10 s without a poll
        (0, 12, [5, 5, 2], 2),  // not a positive number: the RFC's 5 s
        (-3, 12, [5, 5, 2], 2),
        (0.01, 3, [1, 1, 1], 2),  // at least 1 s
        (90, 200, [60, 60, 60, 20], 3),  // at most 60 s
    ])
    func aHostileIntervalIsClampedAndNoPollComesAfterTheExpiry(
        interval: Double, lifetime: Int, waits: [Double], polls: Int
    ) async throws {
        let clock = clock
        clock.letSleepingMoveTime()
        let provider = SignInProvider()
        provider.setDevice(interval: interval, lifetime: lifetime)
        let engine = try makeEngine(provider, device: true)
        let started = clock.now()
        let failure = try #require(failureOf(await engine.startReauth("alice").outcome()))
        #expect(failure.code == .expired)
        #expect(failure.message.hasPrefix("the device code expired before the user approved it"))
        #expect(clock.sleeps == waits)
        #expect(provider.polls == polls)
        #expect(clock.now() == started.addingTimeInterval(Double(lifetime)))
    }

    @Test func slowDownStaysWithinSixtySeconds() async throws {
        let clock = clock
        clock.letSleepingMoveTime()
        let provider = SignInProvider()
        provider.setDevice(interval: 50, lifetime: 900)
        provider.script(polls: ["slow_down", "slow_down"])
        provider.decide(.approve)
        let engine = try makeEngine(provider, device: true)
        var intervals: [Double] = []
        for await progress in try engine.startReauth("alice").updates() {
            if case .waitingForDevice(let step) = progress { intervals.append(step.interval) }
        }
        #expect(intervals == [50, 55, 60])
        #expect(clock.sleeps == [50, 55, 60])
        #expect(provider.polls == 3)
    }

    @Test func anOperatorsTimeoutEndsTheDeviceFlowSooner() async throws {
        let clock = clock
        let provider = SignInProvider(onPoll: { clock.advance(6) })
        let engine = try makeEngine(provider, device: true)
        let session = try engine.startReauth("alice", options: ReauthOptions(timeout: 10))
        let failure = try #require(failureOf(await session.outcome()))
        #expect(failure.code == .timedOut)
        #expect(failure.message.hasPrefix("the user did not approve the device code within 10s"))
    }

    /// A token endpoint that keeps failing makes the flow back off until its deadline; the final message then says
    /// that the provider was failing, to how many polls in a row and with what, and never the device code (which the
    /// gateway's page quotes).
    @Test(arguments: [
        // (the operator's timeout, the code, the polls sent, the message)
        (
            nil as Double?, ReauthFailure.Code.expired, 5,
            "the device code expired (after 2m00s) before tokentop saw an approval: the provider answered 503 to the "
                + "last 4 polls, so the user may have approved it unseen; nothing was stored; run the re-auth "
                + "again for a new code once the provider's token endpoint answers"
        ),
        (
            60, .timedOut, 4,
            "no approval of the device code came within 1m00s: the provider answered 503 to the last 3 polls, so "
                + "the user may have approved it unseen; nothing was stored; run the re-auth again once the "
                + "provider's token endpoint answers"
        ),
    ])
    func aTokenEndpointThatKeepsFailingIsNamedInTheFinalMessage(
        timeout: Double?, code: ReauthFailure.Code, polls: Int, message: String
    ) async throws {
        let clock = clock
        clock.letSleepingMoveTime()
        let provider = SignInProvider()
        provider.setDevice(interval: 5, lifetime: 120)
        provider.script(polls: ["authorization_pending"])
        provider.failPolls(status: 503)
        let engine = try makeEngine(provider, device: true)
        let before = try engine.store.tokenSecrets(connectionID: "alice")
        let failure = try #require(
            failureOf(await engine.startReauth("alice", options: ReauthOptions(timeout: timeout)).outcome()))
        #expect(failure.code == code)
        #expect(failure.message == message)
        #expect(provider.polls == polls)
        // RFC 8628 §3.5: each failed poll doubles the wait.
        #expect(clock.sleeps.prefix(4) == [5, 5, 10, 20])
        #expect(failure.providerError?.status == 503)
        try expectUnchanged(engine, tokens: before)
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).first)
        #expect(entry.message == "re-auth failed: \(message)")
        #expect(entry.error?.status == 503)
        let recorded = [entry.message, entry.error?.summary ?? "", entry.error?.bodyPrefix ?? ""].joined()
        #expect(recorded.contains("upstream timed out"))
        #expect(!recorded.contains("fake-device-code-0001"))
    }

    /// Server errors the provider recovered from are still counted, after the usual words.
    @Test func serverErrorsTheProviderRecoveredFromAreCounted() async throws {
        let clock = clock
        clock.letSleepingMoveTime()
        let provider = SignInProvider()
        provider.setDevice(interval: 5, lifetime: 60)
        provider.script(polls: ["503", "502"])
        let engine = try makeEngine(provider, device: true)
        let failure = try #require(failureOf(await engine.startReauth("alice").outcome()))
        #expect(failure.code == .expired)
        #expect(
            failure.message
                == "the device code expired before the user approved it (after 1m00s); 2 of the 4 polls got a "
                + "server error, the last one 502, before the provider answered again; nothing was stored; run the "
                + "re-auth again for a new code")
        #expect(provider.polls == 4)
    }

    // MARK: - Who can sign in here

    @Test func onlyUserConnectionsWithASignInEndpointStartAFlow() throws {
        let engine = try makeEngine(SignInProvider())
        #expect(throws: ReauthFailure.self) { try engine.startReauth("robot") }
        guard case .failure(let bot) = engine.reauthMethod(for: "robot") else { throw SignInError("bot allowed") }
        #expect(bot.code == .notInteractive)
        #expect(bot.message.contains("the installer must reinstall or re-register the app"))
        guard case .failure(let ghost) = engine.reauthMethod(for: "ghost") else { throw SignInError("ghost") }
        #expect(ghost.code == .unknownConnection)
        #expect(engine.startReauth(for: "robot") == false)
        #expect(engine.reauthProgress(for: "robot") == nil)

        let bare = try makeEngine(SignInProvider(), authorizationURL: false)
        guard case .failure(let none) = bare.reauthMethod(for: "alice") else { throw SignInError("no endpoint") }
        #expect(none.code == .configuration)
        #expect(none.message.hasPrefix("integration signin has neither authorization_url nor device_authorization_url"))
    }

    /// While the token endpoint refuses the integration itself, a sign-in would end refused after the user went
    /// through it: none starts, and nothing is sent. An error a new sign-in may mend still starts one.
    @Test func noSignInStartsWhileTheTokenEndpointRefusesTheIntegration() throws {
        for code in ["invalid_client", "redirect"] {
            let provider = SignInProvider()
            let refused = ProviderError(
                kind: .configuration, error: code, errorDescription: "client authentication failed", status: 401)
            let engine = try makeEngine(provider, failure: refused)
            guard case .failure(let failure) = engine.reauthMethod(for: "alice") else { throw SignInError(code) }
            #expect(failure.code == .configuration)
            #expect(
                failure.message
                    == "the token endpoint refused integration signin at the last refresh of alice (\(code) (HTTP 401): "
                    + "client authentication failed), and a sign-in ends with a request there, made the same way: "
                    + "fix the integration first (import it again), then refresh alice; it renews itself, or shows "
                    + "that it needs re-auth")
            #expect(engine.startReauth(for: "alice") == false)
            #expect(provider.requests.isEmpty)
            // The re-auth prompt names who must act instead.
            let prompt = try #require(engine.requestReauth(for: "alice"))
            #expect(prompt.who.hasPrefix("an operator must fix integration signin"))
        }
        let scoped = try makeEngine(
            SignInProvider(), failure: ProviderError(kind: .configuration, error: "invalid_scope", status: 400))
        guard case .success = scoped.reauthMethod(for: "alice") else { throw SignInError("invalid_scope refused") }
    }

    @Test func aReadOnlyProcessStartsNoSignIn() throws {
        let engine = try makeEngine(SignInProvider(), readOnly: true)
        guard case .failure(let failure) = engine.reauthMethod(for: "alice") else { throw SignInError("allowed") }
        #expect(failure.code == .readOnly)
        #expect(
            failure.message == "alice: not re-authorized: this tokentop runs read-only (--readonly, or readonly in "
                + "the configuration)")
        #expect(engine.startReauth(for: "alice") == false)
    }

    /// The connection still has its old tokens and state, and its history ends with the failed attempt.
    func expectUnchanged(
        _ engine: Engine, tokens before: (access: Secret?, refresh: Secret?),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let after = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(after.access == before.access, sourceLocation: sourceLocation)
        #expect(after.refresh == before.refresh, sourceLocation: sourceLocation)
        let connection = try #require(try engine.store.connection(id: "alice"), sourceLocation: sourceLocation)
        #expect(connection.reauthReason != nil, sourceLocation: sourceLocation)
        #expect(connection.failures == 1, sourceLocation: sourceLocation)
        let last = try engine.store.history(connectionID: "alice", limit: 1).first
        #expect(last?.kind == .reauthFailed, sourceLocation: sourceLocation)
        #expect(engine.snapshot().events.last?.kind == .reauthFailed, sourceLocation: sourceLocation)
    }
}
