import Foundation
import Testing
import TokentopCore

/// `kill -9` at random moments in a refresh storm, against django-oauth-toolkit with rotation and reuse protection.
///
/// The server is one of the test's own: access tokens live 1 s, so every daemon started finds every token due and
/// refreshes each about once a second, and a kill always lands in the storm. Its 60-second rotation grace window
/// is what a provider offers a client that lost an answer: a rotated refresh token presented again within it gets
/// the pair it was rotated into. Without one, a kill between the provider's rotation and our commit loses that
/// connection whatever the client does; with one, the client must retry soon enough.
struct CrashSafetyTests {
    static let rounds = 100
    static let tokens = 24

    @Test func hundredKillsInARefreshStormLoseNothing() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await OAuthServerFixture.startPrivate(
            runDirectory: sandbox.root.appendingPathComponent("dot-run").path,
            settings: ["TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS": "1", "TOKENTOP_OAUTH_GRACE_SECONDS": "60"])
        defer { try? server.stop() }
        let pairs = try server.seed(client: server.basicClient, count: Self.tokens)
        let file = try InteropTests().importFile(
            server: server, sandbox: sandbox,
            connections: pairs.enumerated().map { ("crash-\($0)", server.basicClient, $1.access, $1.refresh) })
        var environment = sandbox.environment.merging(InteropTests().binaryEnvironment) { $1 }
        environment["TOKENTOP_DB"] = sandbox.database
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let started = Date()
        for _ in 0..<Self.rounds {
            let daemon = try Binary.startDaemon(environment: environment)
            try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...600_000_000))
            kill(daemon.processIdentifier, SIGKILL)
            // Reaped before the next start: a zombie still answers kill(pid, 0) as if it were alive.
            daemon.waitUntilExit()
        }
        let killing = Date().timeIntervalSince(started)

        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: InteropTests.key))
        let history = try store.history(since: 0).entries
        let refreshes = history.filter { $0.kind == .refreshed }
        let resumed = refreshes.filter { $0.message.contains("resumed") }.count
        let failed = history.filter { $0.kind == .refreshFailed || $0.kind == .needsReauth }
        #expect(failed.isEmpty, "\(failed.count) failures, first: \(failed.first?.message ?? "")")

        // Every connection can still be refreshed: the refresh token stored is the live one at the provider.
        let engine = try Engine(store: store, transport: URLSessionTransport(timeout: 20))
        var renewed = 0
        for connection in try store.connections() {
            let after = try await engine.refreshNow(connection.id)
            #expect(after.failures == 0, "\(connection.id): \(after.lastError?.summary ?? "")")
            #expect(after.reauthReason == nil, "\(connection.id): \(after.reauthReason ?? "")")
            if after.failures == 0, after.reauthReason == nil { renewed += 1 }
        }
        #expect(renewed == Self.tokens)
        print(
            "crash safety: \(Self.rounds) SIGKILL rounds in \(Int(killing.rounded())) s, \(refreshes.count) refreshes"
                + " stored, \(resumed) resumed after a kill interrupted them, \(failed.count) failures; final"
                + " refresh: \(renewed)/\(Self.tokens) connections renewed")
    }
}
