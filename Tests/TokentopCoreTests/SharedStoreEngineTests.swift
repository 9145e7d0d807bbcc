import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// Two engines, as two hosts would run them, share one PostgreSQL store: they claim due connections from its index
/// and refresh each exactly once, against a provider that rotates refresh tokens and refuses a used one.
@Suite(.enabled(if: PostgresServer.isAvailable, "no PostgreSQL server (scripts/postgres start)"))
struct SharedStoreEngineTests {
    let clock = TestClock()

    @Test func twoEnginesOnOneStoreRefreshEachDueConnectionOnce() async throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        let url = try directory.location("shared")
        let key = SecretBox(key: StoreFixtures.key)
        let first = try Store.open(path: url, secrets: key)
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        sandbox.addProvider("acme", behaviour: .init(rotates: true, lifetimes: 3600...3600))
        sandbox.addClient(id: "client-acme", secret: Secret("fake-client-secret"), provider: "acme")
        let count = 60
        var connections: [[String: Any]] = []
        for index in 0..<count {
            let refresh = "fake-rt-shared-\(index)"
            sandbox.issueRefreshToken(Secret(refresh), clientID: "client-acme")
            connections.append([
                "id": String(format: "acme-%02d", index), "integration": "acme", "scope": "user",
                "subject": "u\(index)@acme.example", "access_token": "fake-at-shared-\(index)",
                "refresh_token": refresh, "expires_in": 300,
            ])
        }
        try importSandboxAcme(connections, into: first, at: clock.now())
        var policy = RefreshPolicy.standard
        policy.concurrency = 4
        let engines = try [first, Store.open(path: url, secrets: key)].map {
            try Engine(store: $0, transport: sandbox, timeSource: clock, policy: policy)
        }
        // Five minutes on, every token is past its lead window and still valid.
        clock.advance(290)
        for engine in engines { engine.start() }
        var refreshed = 0
        for _ in 0..<1000 {
            refreshed = try first.connections().filter { $0.lastRefreshAt != nil }.count
            if refreshed == count { break }
            clock.advance(0.05)
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        for engine in engines { await engine.stop() }
        #expect(refreshed == count)
        let history = try first.history(since: 0).entries
        let refreshes = history.filter { $0.kind == .refreshed }
        #expect(refreshes.count == count, "one refresh per connection")
        #expect(Set(refreshes.map(\.connectionID)).count == count)
        #expect(!history.contains { $0.kind == .needsReauth || $0.kind == .refreshFailed })
        let leases = try PostgresServer.psql(url, "SELECT count(*) FROM connections WHERE lease_owner IS NOT NULL")
        #expect(leases == "0", "every lease given back")
    }
}
