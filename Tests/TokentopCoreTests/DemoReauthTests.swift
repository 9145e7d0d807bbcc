import Foundation
import Synchronization
import Testing

@testable import TokentopCore

/// The demo's user re-auth: the real engine and device flow on the demo seed, against the sandbox's device
/// endpoint and its pretend user, who approves ``SandboxProvider/deviceApprovalDelay`` seconds after the code.
@Suite struct DemoReauthTests {
    /// A clock whose waits pass at once and move it on by the time waited, so that the flow's polls keep their
    /// interval by this clock as they would by a wall clock. While held, waits do not begin, so that a test sees a
    /// step before the flow moves past it.
    final class SteppingClock: TimeSource {
        private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        private let held = Mutex(false)

        func now() -> Date { current.withLock { $0 } }

        func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

        func hold(_ value: Bool) { held.withLock { $0 = value } }

        func sleep(seconds: Double) async throws {
            while held.withLock({ $0 }) { try await Task.sleep(nanoseconds: 2_000_000) }
            try Task.checkCancellation()
            advance(seconds)
            await Task.yield()
        }
    }

    let clock = SteppingClock()

    func makeEngine() throws -> (Engine, SandboxProvider, URL) {
        let directory = try temporaryDirectory()
        let store = try Store.open(path: directory.appendingPathComponent("demo.sqlite3").path, secrets: .ephemeral())
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        try DemoSeed.seed(store: store, sandbox: sandbox, now: clock.now())
        let engine = try Engine(store: store, transport: sandbox, timeSource: clock, policy: .demo, user: "tester")
        return (engine, sandbox, directory)
    }

    /// The device endpoint's answer for acme-crm's client, asked directly.
    func deviceCode(_ engine: Engine, _ sandbox: SandboxProvider) async throws -> (OAuthClient, DeviceAuthorization) {
        let client = OAuthClient(transport: sandbox, clock: clock)
        let integration = try #require(engine.snapshot().integrations["acme-crm"])
        let answer = await client.deviceAuthorization(
            integration: integration, clientSecret: try engine.store.integrationSecret(id: "acme-crm"),
            scopes: ["read"])
        return (client, try answer.get())
    }

    func poll(_ client: OAuthClient, _ engine: Engine, _ code: DeviceAuthorization) async throws -> String? {
        let integration = try #require(engine.snapshot().integrations["acme-crm"])
        let result = await client.deviceToken(
            integration: integration, clientSecret: try engine.store.integrationSecret(id: "acme-crm"),
            deviceCode: code.deviceCode)
        switch result {
        case .success: return nil
        case .failure(let error): return error.error
        }
    }

    @Test func aOnAcmeFrankEndsWithThePretendUsersApproval() async throws {
        let (engine, _, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let refused = try await engine.refreshNow("acme-frank")
        #expect(refused.status(at: clock.now(), policy: .demo) == .needsReauth)
        #expect(refused.lastError?.error == "invalid_grant")
        let started = clock.now()

        clock.hold(true)
        let session = try engine.startReauth("acme-frank")
        #expect(session.method == .deviceCode)
        var steps: [ReauthProgress.DeviceStep] = []
        var last: ReauthProgress?
        for await progress in session.updates() {
            if case .waitingForDevice(let step) = progress {
                steps.append(step)
                clock.hold(false)
            }
            last = progress
        }
        let step = try #require(steps.first, "no device step: \(String(describing: last))")
        #expect(steps.count == 1, "the flow was told to slow down: \(steps.map(\.interval))")
        let shape = #"^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$"#
        #expect(step.userCode.range(of: shape, options: .regularExpression) != nil, "user code \(step.userCode)")
        #expect(step.verificationURI == SandboxProvider.verificationURI("acme-crm"))
        #expect(step.verificationURI.absoluteString.contains("a-pretend-user-approves-in-8s"))
        #expect(step.verificationURIComplete?.query == "user_code=\(step.userCode)")
        #expect(step.interval == 2)
        #expect(step.expiresAt == started.addingTimeInterval(300))

        guard case .succeeded(let after) = last else {
            throw DemoReauthError("no success: \(String(describing: last))")
        }
        // Four polls of 2 s: pending at 2, 4 and 6 s, approved at 8 s.
        #expect(clock.now() == started.addingTimeInterval(8))
        #expect(after.reauthReason == nil)
        #expect(after.lastError == nil)
        #expect(after.status(at: clock.now(), policy: .demo) == .healthy)
        #expect(after.grantedScopes == ["read"])
        let live = try #require(engine.snapshot().connections.first { $0.id == "acme-frank" })
        #expect(live.status(at: clock.now(), policy: .demo) == .healthy)
        let event = try #require(engine.snapshot().events.last)
        #expect(event.kind == .reauthorized)
        #expect(event.message == "re-authorized: the user approved the device code; new refresh token")
        let tokens = try engine.store.tokenSecrets(connectionID: "acme-frank")
        #expect(tokens.access?.value.hasPrefix("demo-at-") == true)
        #expect(tokens.refresh?.fingerprint == after.refreshFingerprint)

        // The new refresh token is one the sandbox knows: the next refresh works, and acme-crm rotates it.
        clock.advance(1)
        let refreshed = try await engine.refreshNow("acme-frank")
        #expect(refreshed.failures == 0, "\(refreshed.lastError?.summary ?? "")")
        #expect(refreshed.lastRefreshAt == clock.now())
        #expect(refreshed.refreshFingerprint != after.refreshFingerprint)
        #expect(refreshed.status(at: clock.now(), policy: .demo) == .healthy)
    }

    @Test func pollingFasterThanTheIntervalIsToldToSlowDown() async throws {
        let (engine, sandbox, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (client, code) = try await deviceCode(engine, sandbox)
        #expect(code.interval == 2)
        #expect(code.expiresIn == 300)
        clock.advance(2)
        #expect(try await poll(client, engine, code) == "authorization_pending")
        clock.advance(1)
        #expect(try await poll(client, engine, code) == "slow_down")
        // The interval is now 7 s (RFC 8628 §3.5): 5 s is still too soon, and makes it 12.
        clock.advance(5)
        #expect(try await poll(client, engine, code) == "slow_down")
        clock.advance(12)
        #expect(try await poll(client, engine, code) == nil)
        // A code buys tokens once.
        clock.advance(12)
        #expect(try await poll(client, engine, code) == "invalid_grant")
    }

    @Test func aCodeNobodyExchangesExpires() async throws {
        let (engine, sandbox, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (client, code) = try await deviceCode(engine, sandbox)
        clock.advance(300)
        #expect(try await poll(client, engine, code) == "expired_token")
        clock.advance(10)
        #expect(try await poll(client, engine, code) == "expired_token")
    }

    @Test func anotherClientIsRefused() async throws {
        let (engine, sandbox, directory) = try makeEngine()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, code) = try await deviceCode(engine, sandbox)
        let client = OAuthClient(transport: sandbox, clock: clock)
        let acme = try #require(engine.snapshot().integrations["acme-crm"])
        let wrongSecret = await client.deviceAuthorization(
            integration: acme, clientSecret: Secret("fake-client-secret-0001"), scopes: ["read"])
        #expect(wrongSecret.failure?.error == "invalid_client")
        #expect(wrongSecret.failure?.status == 401)

        // globex-mail's client is a real client of another provider: neither its device endpoint call at acme-crm
        // nor its poll with acme-crm's code gets anything.
        var globex = try #require(engine.snapshot().integrations["globex-mail"])
        globex.deviceAuthorizationURL = SandboxProvider.deviceAuthorizationURL("acme-crm")
        globex.tokenURL = SandboxProvider.tokenURL("acme-crm")
        let globexSecret = try engine.store.integrationSecret(id: "globex-mail")
        let stranger = await client.deviceAuthorization(integration: globex, clientSecret: globexSecret, scopes: [])
        #expect(stranger.failure?.error == "invalid_client")
        clock.advance(9)
        let stolen = await client.deviceToken(
            integration: globex, clientSecret: globexSecret, deviceCode: code.deviceCode)
        #expect(stolen.failure?.error == "invalid_client")
    }
}

struct DemoReauthError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
