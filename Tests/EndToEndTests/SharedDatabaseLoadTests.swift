import Foundation
import Testing
import TokentopCore

/// Four `tokentop daemon` processes share one database of 1,000 due tokens, against django-oauth-toolkit with
/// rotation and reuse protection: a token presented twice would be refused and take its family with it.
///
/// Token values never reach an `#expect`: only Booleans and counts derived from them do.
struct SharedDatabaseLoadTests {
    static let processes = 4
    static let tokens = 1_000

    @Test func fourDaemonsRefreshAThousandDueTokensOnceEachAndLoseNone() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        var clock = Date()
        func lap() -> Double {
            defer { clock = Date() }
            return Date().timeIntervalSince(clock)
        }
        let pairs = try server.seed(client: server.basicClient, count: Self.tokens)
        let seeding = lap()
        let file = try InteropTests().importFile(
            server: server, sandbox: sandbox,
            connections: pairs.enumerated().map { ("load-\($0)", server.basicClient, $1.access, $1.refresh) })
        var environment = sandbox.environment.merging(InteropTests().binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let importing = lap()

        let daemons = try (0..<Self.processes).map { _ in try Binary.startLoggingDaemon(environment: environment) }
        defer { for (daemon, _) in daemons where daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: InteropTests.key))
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            let settled = try store.connections().filter { $0.lastRefreshAt != nil || $0.failures > 0 }
            if settled.count == Self.tokens { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let refreshing = lap()
        for (daemon, _) in daemons { kill(daemon.processIdentifier, SIGTERM) }
        var perProcess: [Int] = []
        for (daemon, log) in daemons {
            #expect(await daemon.exited() == 0)
            perProcess.append(try await log.waitFor("daemon stopped", seconds: 5)?["refreshes"] as? Int ?? -1)
        }

        let stored = try store.connections()
        #expect(stored.count == Self.tokens)
        #expect(stored.filter { $0.lastRefreshAt != nil }.count == Self.tokens, "every token refreshed")
        let history = try store.history(since: 0).entries
        let refused = history.filter { $0.error?.error == "invalid_grant" || $0.kind == .needsReauth }.count
        #expect(refused == 0, "invalid_grant")
        #expect(stored.filter { $0.failures > 0 }.count == 0)
        let refreshes = history.filter { $0.kind == .refreshed }
        #expect(refreshes.count == Self.tokens, "exactly one refresh per token")
        #expect(Set(refreshes.map(\.connectionID)).count == Self.tokens)
        #expect(perProcess.reduce(0, +) == Self.tokens, "refreshes per process: \(perProcess)")
        #expect(perProcess.allSatisfy { $0 > 0 }, "every process took part: \(perProcess)")
        var rotated = 0
        for (index, pair) in pairs.enumerated() {
            let current = try store.tokenSecrets(connectionID: "load-\(index)").refresh?.value
            if current != nil, current != pair.refresh { rotated += 1 }
        }
        #expect(rotated == Self.tokens, "the rotated refresh token is stored")

        // No token lost: the refresh token stored for each connection is the live one, so one more refresh works.
        let engine = try Engine(store: store, transport: URLSessionTransport(timeout: 30))
        let renewed = try await withThrowingTaskGroup(of: Bool.self) { group in
            var ids = stored.map(\.id)[...]
            var renewed = 0
            for _ in 0..<8 {
                guard let id = ids.popFirst() else { break }
                group.addTask { try await engine.refreshNow(id).failures == 0 }
            }
            while let ok = try await group.next() {
                if ok { renewed += 1 }
                if let id = ids.popFirst() { group.addTask { try await engine.refreshNow(id).failures == 0 } }
            }
            return renewed
        }
        let verifying = lap()
        #expect(renewed == Self.tokens, "\(Self.tokens - renewed) tokens lost")
        let rate = Double(Self.tokens) / max(refreshing, 0.001)
        print(
            "shared database: \(Self.processes) processes x \(Self.tokens) due tokens: seeded in "
                + String(format: "%.1f s, imported in %.1f s, ", seeding, importing)
                + String(format: "all refreshed in %.1f s (%.0f/s); ", refreshing, rate)
                + "refreshes per process \(perProcess.map(String.init).joined(separator: ", ")); "
                + "invalid_grant \(refused); lost \(Self.tokens - renewed) (final refresh of every token in "
                + String(format: "%.1f s)", verifying))
    }
}
