import Foundation
import Testing

@testable import TokentopCore

/// The engine and refresh actor against the real store and the demo's sandbox provider, on a hand-moved clock.
struct EngineTests {
    let clock = TestClock()

    /// A store in a fresh directory holding one sandbox integration and the given connections.
    func makeEngine(
        provider: String = "acme", rotates: Bool = true, revocation: Bool = true,
        outage: ClosedRange<Date>? = nil, latency: ClosedRange<Double> = 0...0, connections: [[String: Any]],
        refused: Set<String> = [], readOnly: Bool = false
    ) throws -> (Engine, SandboxProvider) {
        let (store, sandbox) = try makeStore(
            provider: provider, rotates: rotates, revocation: revocation, outage: outage, latency: latency,
            connections: connections, refused: refused)
        let engine = try Engine(
            store: store, transport: sandbox, timeSource: clock, policy: .standard, readOnly: readOnly)
        return (engine, sandbox)
    }

    /// The store and sandbox provider that `makeEngine` runs on, with the busy timeout of its choice.
    func makeStore(
        provider: String = "acme", rotates: Bool = true, revocation: Bool = true,
        outage: ClosedRange<Date>? = nil, latency: ClosedRange<Double> = 0...0, connections: [[String: Any]],
        refused: Set<String> = [], busyTimeoutMilliseconds: Int32 = 5_000
    ) throws -> (Store, SandboxProvider) {
        let directory = try temporaryDirectory()
        let store = try Store.open(
            path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral(), create: true,
            busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        let sandbox = SandboxProvider(clock: clock, latency: latency)
        sandbox.addProvider(provider, behaviour: .init(rotates: rotates, lifetimes: 600...600, outage: outage))
        sandbox.addClient(id: "client-1", secret: Secret("fake-client-secret"), provider: provider)
        var integration: [String: Any] = [
            "id": provider, "provider": provider, "token_url": SandboxProvider.tokenURL(provider).absoluteString,
            "client_id": "client-1", "client_secret": "fake-client-secret", "client_auth": "client_secret_basic",
        ]
        if revocation { integration["revocation_url"] = SandboxProvider.revocationURL(provider).absoluteString }
        for connection in connections {
            if let refresh = connection["refresh_token"] as? String, !refused.contains(connection["id"] as! String) {
                sandbox.issueRefreshToken(Secret(refresh), clientID: "client-1")
            }
        }
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": [integration], "connections": connections,
        ])
        _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        return (store, sandbox)
    }

    func userConnection(_ id: String, refresh: String = "fake-rt-0001", expiresIn: Int = 3600) -> [String: Any] {
        [
            "id": id, "integration": "acme", "scope": "user", "subject": "\(id)@example.com",
            "access_token": "fake-at-0001", "refresh_token": refresh, "expires_in": expiresIn,
        ]
    }

    @Test func refreshRotatesAndPersistsTheNewRefreshToken() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("alice")])
        let before = try #require(engine.snapshot().connections.first)
        clock.advance(100)
        let after = try await engine.refreshNow("alice")
        #expect(after.failures == 0)
        #expect(after.lastRefreshAt == clock.now())
        #expect(after.expiresAt == clock.now().addingTimeInterval(600))
        #expect(after.refreshFingerprint != before.refreshFingerprint)
        #expect(after.accessFingerprint != before.accessFingerprint)
        let stored = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(stored.refresh?.value.hasPrefix("demo-rt-") == true)
        #expect(engine.snapshot().events.last?.kind == .refreshed)
        // The rotated token works for the next refresh: the old one would be refused.
        let again = try await engine.refreshNow("alice")
        #expect(again.failures == 0)
    }

    @Test func aRotatedTokenThatCannotBeStoredWithinAMinuteIsSaidToBeLost() async throws {
        // Each write waits 20 ms for the lock instead of 5 s, and each wait between tries moves the clock as long
        // as it asks: the minute of tries passes in about a second.
        let (store, sandbox) = try makeStore(connections: [userConnection("alice")], busyTimeoutMilliseconds: 20)
        let holder = try SQLiteDatabase(path: store.path)
        let transport = LockingAnswer(inner: sandbox, holder: holder)
        let engine = try Engine(store: store, transport: transport, timeSource: clock, policy: .standard)
        let before = try store.tokenSecrets(connectionID: "alice")
        clock.advance(100)
        clock.letSleepingMoveTime()
        let started = clock.now()
        let error = try await #require(throws: EngineError.self) { try await engine.refreshNow("alice") }
        try holder.execute("ROLLBACK")
        #expect(error.code == .storage)
        #expect(
            error.message.hasPrefix(
                "alice was not refreshed: database problem: the database \(store.path) stayed locked by another "
                    + "process for more than 20 ms; the provider had already issued a new refresh token, which "
                    + "could not be stored and is lost"), "\(error.message)")
        // Tried for the minute, backing off to 2 s, and no longer.
        let waited = clock.now().timeIntervalSince(started)
        #expect(waited >= 60 && waited < 63, "\(waited)")
        #expect(clock.sleeps.prefix(4) == [0.25, 0.5, 1, 2])
        #expect(Set(clock.sleeps.dropFirst(3)) == [2])
        // Nothing of the answer was stored, and the connection's event says what was lost.
        let after = try store.tokenSecrets(connectionID: "alice")
        #expect(after.refresh == before.refresh && after.access == before.access)
        // The audit entry met the same lock; its notice does not hide the one about the lost token.
        #expect(engine.snapshot().notice?.hasSuffix("and the connection then needs re-auth") == true)
        #expect(engine.snapshot().events.last?.message.contains("could not be stored and is lost") == true)
    }

    /// An operator's refresh whose connection is deleted (`tokentop delete --force`) while the request is out:
    /// the answer is dropped, and the refresh says so and fails. It printed "refreshed", exit 0, and audited "ok".
    @Test func aRefreshWhoseConnectionIsDeletedMeanwhileFailsAndSaysSo() async throws {
        let (store, sandbox) = try makeStore(connections: [userConnection("alice")])
        let transport = DeletingAnswer(inner: sandbox, store: store, id: "alice", at: clock.now())
        let engine = try Engine(store: store, transport: transport, timeSource: clock, policy: .standard)
        clock.advance(100)
        let error = try await #require(throws: EngineError.self) { try await engine.refreshNow("alice") }
        #expect(error.code == .unknownConnection)
        #expect(
            error.message == "alice was deleted while its refresh was in flight; the provider's answer was not stored")
        #expect(try store.connection(id: "alice") == nil)
        #expect(engine.connection("alice") == nil)
        let last = try #require(try store.auditLog().last)
        #expect(last.action == .refresh && last.outcome == "failed", "\(last)")
    }

    @Test func refreshWithoutRotationKeepsTheOldRefreshToken() async throws {
        let (engine, _) = try makeEngine(rotates: false, connections: [userConnection("bob")])
        let after = try await engine.refreshNow("bob")
        #expect(after.failures == 0)
        #expect(try engine.store.tokenSecrets(connectionID: "bob").refresh?.value == "fake-rt-0001")
    }

    @Test func invalidGrantTurnsIntoNeedsReauthAtOnce() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("frank")], refused: ["frank"])
        let after = try await engine.refreshNow("frank")
        #expect(after.status(at: clock.now(), policy: .standard) == .needsReauth)
        #expect(after.lastError?.error == "invalid_grant")
        #expect(after.lastError?.status == 400)
        #expect(
            after.reauthReason
                == "the provider refused the grant: invalid_grant (HTTP 400): "
                + "The refresh token is invalid, expired or revoked.")
        #expect(engine.policy.dueAt(after) == nil, "no retries after invalid_grant")
        let prompt = try #require(engine.reauthPrompt(for: "frank"))
        #expect(prompt.who == "the user frank@example.com must sign in again")
        await #expect(throws: EngineError.self) { try await engine.refreshNow("frank") }
    }

    /// Computing the prompt writes nothing; an operator's request is audited, except by a read-only engine.
    @Test(arguments: [false, true])
    func onlyARequestedReauthIsAudited(readOnly: Bool) async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("frank")], readOnly: readOnly)
        for _ in 0..<3 { #expect(engine.reauthPrompt(for: "frank")?.who == "nobody needs to act now") }
        await engine.drainAudit()
        #expect(try engine.store.auditLog().isEmpty)
        #expect(engine.requestReauth(for: "frank")?.who == "nobody needs to act now")
        #expect(engine.requestReauth(for: "nobody") == nil)
        await engine.drainAudit()
        let log = try engine.store.auditLog()
        #expect(log.map(\.outcome) == (readOnly ? [] : ["prompted"]))
        #expect(log.map(\.target) == (readOnly ? [] : ["frank"]))
    }

    /// Once the database file is gone, an operator's refresh, revoke or re-auth sends nothing to the provider: what
    /// it brought back could only be written into the deleted file.
    @Test func aDeletedDatabaseFileRefusesEveryActionThatWouldStore() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("frank")])
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: engine.store.path + suffix) }
        let gone = "was deleted or moved since tokentop opened it"
        let refresh = await #expect(throws: EngineError.self) { _ = try await engine.refreshNow("frank") }
        #expect(refresh?.code == .storage && refresh?.message.contains(gone) == true, "\(String(describing: refresh))")
        let revoke = await #expect(throws: EngineError.self) { _ = try await engine.revokeNow("frank") }
        #expect(revoke?.code == .storage && revoke?.message.contains("frank: not revoked") == true)
        guard case .failure(let reauth) = engine.reauthMethod(for: "frank") else {
            Issue.record("a re-auth could start"); return
        }
        #expect(reauth.code == .storage && reauth.message.contains(gone))
        let frank = try #require(engine.connection("frank"))
        #expect(frank.lastRefreshAt == nil && frank.failures == 0 && frank.revokedAt == nil, "nothing was attempted")
    }

    @Test func outageIsFailingWithBackoffThenRecovers() async throws {
        let outage = clock.now()...clock.now().addingTimeInterval(60)
        let (engine, _) = try makeEngine(outage: outage, connections: [userConnection("carol")])
        let failed = try await engine.refreshNow("carol")
        #expect(failed.status(at: clock.now(), policy: .standard) == .failing)
        #expect(failed.failures == 1)
        #expect(failed.lastError?.status == 503)
        #expect(failed.lastError?.kind == .transient)
        let retry = try #require(failed.retryAt)
        #expect(retry.timeIntervalSince(clock.now()) >= 4, "Retry-After: 4 is honoured")
        #expect(try engine.store.tokenSecrets(connectionID: "carol").refresh?.value == "fake-rt-0001")
        clock.advance(61)
        let recovered = try await engine.refreshNow("carol")
        #expect(recovered.failures == 0)
        #expect(recovered.lastError == nil)
        #expect(recovered.status(at: clock.now(), policy: .standard) == .healthy)
    }

    @Test func revokeCallsTheProviderAndWipesTheTokens() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("dave")])
        let revoked = try await engine.revokeNow("dave")
        #expect(revoked.revokedAtProvider)
        #expect(revoked.status(at: clock.now(), policy: .standard) == .revoked)
        let tokens = try engine.store.tokenSecrets(connectionID: "dave")
        #expect(tokens.access == nil && tokens.refresh == nil)
        await #expect(throws: EngineError.self) { try await engine.refreshNow("dave") }
    }

    @Test func aReadOnlyEngineRenewsNothingAndRefusesOperators() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("olga", expiresIn: 30)], readOnly: true)
        #expect(engine.snapshot().readOnly)
        let before = try engine.store.tokenSecrets(connectionID: "olga")
        engine.start()
        clock.advance(60)
        try await Task.sleep(nanoseconds: 300_000_000)
        await engine.stop()
        let after = try #require(try engine.store.connection(id: "olga"))
        #expect(after.lastRefreshAt == nil, "the actor refreshed in a read-only engine")
        #expect(try engine.store.tokenSecrets(connectionID: "olga") == before)
        await #expect(throws: EngineError.self) { try await engine.refreshNow("olga") }
        do {
            _ = try await engine.revokeNow("olga")
            Issue.record("revoked in a read-only engine")
        } catch let error as EngineError {
            #expect(error.code == .readOnly)
            #expect(error.message.hasPrefix("olga: not revoked: this tokentop runs read-only"))
        }
        #expect(try engine.store.connection(id: "olga")?.revokedAt == nil)
    }

    @Test func revokeWithoutAnEndpointSaysSo() async throws {
        let (engine, _) = try makeEngine(revocation: false, connections: [userConnection("erin")])
        let revoked = try await engine.revokeNow("erin")
        #expect(!revoked.revokedAtProvider)
        #expect(engine.snapshot().events.last?.message.contains("revoked here only") == true)
    }

    @Test func concurrentRefreshesOfOneConnectionSendOneRequest() async throws {
        // The sandbox waits (TestClock sleeps briefly), so the second call arrives while the first is in flight.
        let (engine, _) = try makeEngine(latency: 0.01...0.01, connections: [userConnection("grace")])
        async let first = engine.refreshNow("grace")
        async let second = engine.refreshNow("grace")
        let (a, b) = try await (first, second)
        // With rotation, a second request would present the rotated-away token and fail with invalid_grant.
        #expect(a.failures == 0 && b.failures == 0)
        #expect(try engine.store.history(connectionID: "grace", limit: 10).filter { $0.kind == .refreshed }.count == 1)
    }

    @Test func theActorRefreshesDueTokensOnItsOwn() async throws {
        let (engine, _) = try makeEngine(connections: [
            userConnection("due-soon", expiresIn: 0), userConnection("later", refresh: "fake-rt-0002"),
        ])
        engine.start()
        defer { Task { await engine.stop() } }
        for _ in 0..<500 {
            if engine.snapshot().connections.first(where: { $0.id == "due-soon" })?.lastRefreshAt != nil { break }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        let snapshot = engine.snapshot()
        #expect(snapshot.connections.first { $0.id == "due-soon" }?.lastRefreshAt != nil)
        #expect(snapshot.connections.first { $0.id == "later" }?.lastRefreshAt == nil)
        #expect(snapshot.nextDue != nil)
        await engine.stop()
    }
}

extension EngineTests {
    /// An integration another process re-imports with a new token URL and client id is the one a running engine
    /// uses from its next look at the store on: before, it kept the old URL and sent the new secret there.
    @Test func aReimportedIntegrationTakesEffectInARunningEngine() async throws {
        let (engine, _) = try makeEngine(connections: [userConnection("alice")])
        engine.start()
        // Written past the engine, as another process's import is: no connection changes with it.
        let moved: [String: Any] = [
            "id": "acme", "provider": "acme", "token_url": "https://moved.acme.example/oauth/token",
            "client_id": "client-2", "client_auth": "none",
        ]
        let data = try JSONSerialization.data(withJSONObject: ["integrations": [moved], "connections": []])
        _ = try engine.store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        var seen: Integration?
        for _ in 0..<500 {
            clock.advance(1.1)
            seen = engine.snapshot().integrations["acme"]
            if seen?.clientID == "client-2" { break }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        #expect(seen?.tokenURL.absoluteString == "https://moved.acme.example/oauth/token")
        #expect(seen?.clientID == "client-2")
        await engine.stop()
    }
}

/// The sandbox provider, and another connection that takes the database's write lock as each answer arrives and
/// keeps it: the refresh's claim went through, its result's write cannot.
private final class LockingAnswer: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: the holder's connection is used by one request at a time in these tests.
    let inner: SandboxProvider
    let holder: SQLiteDatabase

    init(inner: SandboxProvider, holder: SQLiteDatabase) {
        self.inner = inner
        self.holder = holder
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let response = try await inner.send(request)
        try holder.execute("BEGIN IMMEDIATE")
        return response
    }
}

/// The sandbox provider, and an operator who deletes the connection while its request is out.
private struct DeletingAnswer: HTTPTransport {
    let inner: SandboxProvider
    let store: Store
    let id: String
    let at: Date

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let response = try await inner.send(request)
        _ = try store.deleteConnections([id], force: true, user: "operator", at: at)
        return response
    }
}

/// A network seam that answers every request with one fixed response, for answers no real provider should send.
private struct FixedAnswer: HTTPTransport {
    var response: HTTPResponse
    func send(_ request: HTTPRequest) async throws -> HTTPResponse { response }
}

struct OddAnswerTests {
    let clock = TestClock()

    func engine(answering response: HTTPResponse) throws -> Engine {
        let directory = try temporaryDirectory()
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        let file = """
            {"integrations": [{"id": "odd", "provider": "odd", "token_url": "https://odd.example/token",
              "client_id": "c", "client_secret": "fake-secret", "client_auth": "client_secret_post"}],
             "connections": [{"id": "odd-1", "integration": "odd", "scope": "org", "subject": "org:odd",
              "access_token": "fake-at-odd", "refresh_token": "fake-rt-odd", "expires_in": 3600,
              "granted_scopes": ["read"]}]}
            """
        _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: clock.now())
        return try Engine(store: store, transport: FixedAnswer(response: response), timeSource: clock)
    }

    @Test(arguments: [
        (200, "", "the answer is empty"),
        (200, "<html>hello</html>", "the answer is not an OAuth 2.0 JSON object"),
        (200, #"{"token_type":"bearer"}"#, "the answer has no access_token"),
    ])
    func oddAnswersAreRecordedFailuresAndTheTokenStays(status: Int, body: String, why: String) async throws {
        let engine = try engine(answering: HTTPResponse(status: status, body: Data(body.utf8)))
        let after = try await engine.refreshNow("odd-1")
        #expect(after.status(at: clock.now(), policy: .standard) == .failing)
        #expect(after.lastError?.error == "malformed_response")
        #expect(after.lastError?.errorDescription == why)
        #expect(after.lastError?.status == status)
        #expect(after.lastError?.bodyPrefix == (body.isEmpty ? nil : body))
        #expect(try engine.store.tokenSecrets(connectionID: "odd-1").refresh?.value == "fake-rt-odd")
        #expect(after.retryAt != nil)
    }

    @Test func invalidClientIsTheIntegrationsConfigurationError() async throws {
        let engine = try engine(
            answering: HTTPResponse(status: 401, body: Data(#"{"error":"invalid_client"}"#.utf8)))
        let after = try await engine.refreshNow("odd-1")
        #expect(after.lastError?.kind == .configuration)
        #expect(after.reauthReason == nil)
        #expect(after.retryAt == clock.now().addingTimeInterval(RefreshPolicy.standard.configurationRetry))
        #expect(engine.snapshot().events.last?.message.hasPrefix("configuration error in integration odd") == true)
    }

    @Test func anAnswerWithoutExpiryIsRenewedOnTheDefaultScheduleAndLostScopesAreFlagged() async throws {
        let engine = try engine(
            answering: HTTPResponse(status: 200, body: Data(#"{"access_token":"fake-at-new","scope":"write"}"#.utf8)))
        let after = try await engine.refreshNow("odd-1")
        #expect(after.failures == 0)
        #expect(after.expiresAt == clock.now().addingTimeInterval(RefreshPolicy.standard.unknownExpiryLifetime))
        #expect(engine.policy.dueAt(after) != nil, "never 'never refresh'")
        #expect(after.grantedScopes == ["write"])
        let message = engine.snapshot().events.last?.message ?? ""
        #expect(message.contains("no expiry in the answer, assuming 1h00m"))
        #expect(message.contains("scopes no longer granted: read"))
    }
}

/// A provider that takes the request, rotates the token, and then the answer is lost; the next try is refused.
private final class LostAnswer: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `calls` is only touched under `lock`.
    private let lock = NSLock()
    private var calls = 0

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let call = lock.withLock {
            calls += 1
            return calls
        }
        if call == 1 { throw URLError(.networkConnectionLost) }
        return HTTPResponse(status: 400, body: Data(#"{"error":"invalid_grant"}"#.utf8))
    }
}

struct LostAnswerTests {
    @Test func invalidGrantAfterALostAnswerIsExplainedAsSuch() async throws {
        let clock = TestClock()
        let store = try oneConnectionStore(
            integration: "lossy", tokenURL: "https://lossy.example/token", connection: "lossy-1", at: clock.now())
        let engine = try Engine(store: store, transport: LostAnswer(), timeSource: clock)
        let first = try await engine.refreshNow("lossy-1")
        #expect(first.lastError?.error == "network_error")
        #expect(first.status(at: clock.now(), policy: .standard) == .failing)
        #expect(try store.tokenSecrets(connectionID: "lossy-1").refresh?.value == "fake-rt", "retried with the same")
        let second = try await engine.refreshNow("lossy-1")
        #expect(second.status(at: clock.now(), policy: .standard) == .needsReauth)
        #expect(second.reauthReason?.contains("the answer carrying the new one was lost") == true)
    }
}
