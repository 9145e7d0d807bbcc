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
///
/// After every kill, before the next daemon starts, the store is read: every connection must still be renewable,
/// none marked failed or needs-reauth, and the provider's database must still accept every stored refresh token
/// (`RefreshVerdicts`, which asks without presenting them). At the end every connection is refreshed for real.
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

        let store = try Store.open(path: sandbox.database, secrets: SecretBox(key: InteropTests.key))
        let verdicts = try RefreshVerdicts(server: server, python: server.python)
        defer { verdicts.stop() }
        var problems: [String] = []
        var checked = 0
        var checking = 0.0
        var historyChecked = try store.latestHistoryID()
        let started = Date()
        for round in 1...Self.rounds {
            let daemon = try Binary.startDaemon(environment: environment)
            try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...600_000_000))
            kill(daemon.processIdentifier, SIGKILL)
            // Reaped before the next start: a zombie still answers kill(pid, 0) as if it were alive.
            _ = await daemon.exited()

            // After every kill, before the next start: each connection as stored is one the next refresher can
            // renew, and the provider would accept its refresh token (asked without presenting it, so nothing
            // rotates); nothing is marked failed, needs-reauth or revoked.
            let checkStarted = Date()
            let found = try problemsAfterKill(store: store, verdicts: verdicts, historySince: &historyChecked)
            problems += found.map { "round \(round): \($0)" }
            checked += 1
            checking += Date().timeIntervalSince(checkStarted)
        }
        let killing = Date().timeIntervalSince(started)
        #expect(problems.isEmpty, "\(problems.count) problems after kills, first: \(problems.prefix(3))")
        #expect(checked == Self.rounds)

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
                + " refresh: \(renewed)/\(Self.tokens) connections renewed; checked after each of \(checked) kills"
                + " (\(Self.tokens) stored states and refresh tokens at the provider each,"
                + " \(Int((checking * 1000).rounded())) ms in all): \(problems.count) problems")
    }

    /// What is wrong with the store after a kill: a connection the next refresher could not renew, one marked
    /// failed, needs-reauth or revoked, a failure recorded after entry `historySince` (moved on to the newest), or
    /// a stored refresh token the provider would refuse. Empty when all is well.
    func problemsAfterKill(store: Store, verdicts: RefreshVerdicts, historySince: inout Int) throws -> [String] {
        var problems: [String] = []
        let connections = try store.connections()
        if connections.count != Self.tokens { problems.append("\(connections.count) connections stored") }
        let now = Date()
        for connection in connections {
            let status = connection.status(at: now, policy: .standard)
            // 1-second tokens: most are past expiry, which for a renewable token reads expiring, never expired.
            if ![.healthy, .expiring].contains(status) || !connection.isRenewable || connection.failures > 0 {
                let why = connection.lastError?.summary ?? connection.reauthReason ?? ""
                problems.append(
                    "\(connection.id) is \(status.rawValue), renewable: \(connection.isRenewable), failures:"
                        + " \(connection.failures) \(why)")
            }
        }
        let recent = try store.history(since: historySince)
        historySince = recent.latest
        let failed = recent.entries.filter { $0.kind == .refreshFailed || $0.kind == .needsReauth }
        problems += failed.map { "\($0.connectionID): \($0.message)" }
        var held: [(id: String, token: String)] = []
        for connection in connections {
            guard let refresh = try store.tokenSecrets(connectionID: connection.id).refresh else {
                problems.append("\(connection.id) has no refresh token stored")
                continue
            }
            held.append((connection.id, refresh.value))
        }
        let answers = try verdicts.verdicts(for: held.map(\.token))
        for (connection, answer) in zip(held, answers) where answer != "accepted" {
            problems.append("the provider would refuse \(connection.id)'s refresh token: \(answer)")
        }
        return problems
    }
}
