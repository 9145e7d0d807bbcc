import Foundation
import Testing

@testable import TokentopCore

/// `tokentop status`: 0 all well, 1 something failing, 2 something needs re-auth or has expired.
@Suite struct StatusSummaryTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A user token with a refresh token, issued an hour before it expires `expiresIn` seconds from ``now``.
    static func renewable(_ id: String, expiresIn: Double, failures: Int = 0) -> Connection {
        let expiry = now.addingTimeInterval(expiresIn)
        return Connection(
            id: id, integrationID: "acme", scope: .user, subject: "\(id)@example.com", credential: .oauth2,
            grant: .refreshToken, accessFingerprint: "fake…0001", refreshFingerprint: "fake…0002",
            issuedAt: expiry.addingTimeInterval(-3600), expiresAt: expiry, failures: failures,
            lastError: failures > 0 ? ProviderError(kind: .transient, error: "server_error", status: 503) : nil,
            createdAt: now.addingTimeInterval(-86_400))
    }

    static func summary(_ connections: [Connection]) -> StatusSummary {
        StatusSummary(DashboardSnapshot(databasePath: "test", connections: connections), at: now)
    }

    @Test func aRenewableTokenPastItsExpiryIsCritical() {
        // Nobody refreshed it (no daemon runs): its refresh token could renew it, but the token in hand is dead.
        let summary = Self.summary([Self.renewable("alice", expiresIn: 3000), Self.renewable("bob", expiresIn: -5)])
        #expect(summary.exitCode == 2)
        #expect(summary.line == "CRITICAL: 2 connections: 1 healthy, 1 expired")
    }

    @Test func aTokenStillValidWhoseRefreshFailsIsAWarningUntilItExpires() {
        let failing = Self.renewable("bob", expiresIn: 120, failures: 3)
        let warning = Self.summary([Self.renewable("alice", expiresIn: 3000), failing])
        #expect(warning.exitCode == 1)
        #expect(warning.line == "WARNING: 2 connections: 1 healthy, 1 failing")
        var ran = failing
        ran.expiresAt = Self.now
        let critical = Self.summary([Self.renewable("alice", expiresIn: 3000), ran])
        #expect(critical.exitCode == 2)
        #expect(critical.line == "CRITICAL: 2 connections: 1 healthy, 1 expired")
    }

    @Test func allWellIsZero() {
        let summary = Self.summary([Self.renewable("alice", expiresIn: 3000)])
        #expect(summary.exitCode == 0)
        #expect(summary.line == "OK: 1 connection: 1 healthy")
    }

    /// The engine's running counts (which `status` reads) follow the clock past a renewable token's expiry too,
    /// not only into its lead window.
    @Test func theEnginesRunningCountsSeeARenewableTokenExpire() throws {
        let clock = TestClock()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        let connections: [[String: Any]] = [("alice", 3600), ("bob", 600)].map { id, lifetime in
            [
                "id": id, "integration": "acme", "scope": "user", "subject": "\(id)@example.com",
                "access_token": "fake-at-\(id)-0001", "refresh_token": "fake-rt-\(id)-0001", "expires_in": lifetime,
            ]
        }
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": [
                [
                    "id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
                    "client_id": "fake-client", "client_secret": "fake-client-secret-0001",
                ]
            ],
            "connections": connections,
        ])
        _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        // Never started: nothing refreshes bob, as when no daemon runs.
        let engine = try Engine(store: store, transport: SandboxProvider(clock: clock), timeSource: clock)
        #expect(StatusSummary(engine.snapshot(), at: clock.now()).line == "OK: 2 connections: 2 healthy")
        clock.advance(400)
        #expect(engine.snapshot().counts(at: clock.now()) == [.healthy: 1, .expiring: 1])
        #expect(StatusSummary(engine.snapshot(), at: clock.now()).exitCode == 0)
        clock.advance(200)
        let snapshot = engine.snapshot()
        #expect(snapshot.counts(at: clock.now()) == [.healthy: 1, .expired: 1])
        let summary = StatusSummary(snapshot, at: clock.now())
        #expect(summary.exitCode == 2)
        #expect(summary.line == "CRITICAL: 2 connections: 1 healthy, 1 expired")
        let bob = try #require(snapshot.connection(id: "bob"))
        #expect(snapshot.status(of: bob, at: clock.now()) == .expired)
        // A human is not the only way back: the prompt says a refresh can renew it.
        let prompt = Engine.reauthPrompt(for: bob, at: clock.now(), policy: snapshot.policy)
        #expect(prompt.reason == "the token expired before anything renewed it")
        #expect(
            prompt.who
                == "a refresh can renew it (`tokentop refresh bob`, a running daemon or dashboard); should the "
                + "provider refuse it, the user bob@example.com must sign in again")
    }
}
