import Foundation
import Testing
import TokentopTestSupport

/// Another process's import, revoke or write while `tokentop refresh` waits for a provider that has rotated the
/// refresh token already: the rotated token is stored or revoked, never dropped. The provider holds its answer until
/// the test releases it (`/slow-rotate?held`), so nothing here depends on timing.
@Suite(.serialized)
struct RefreshRaceTests {
    typealias Server = HostileProviderTests.Server

    /// One connection renewed at the held endpoint, with a revocation endpoint; returns the import file's path.
    static func importFile(_ server: Server, _ sandbox: Sandbox) throws -> String {
        let base = "http://127.0.0.1:\(server.port)"
        return try sandbox.write(
            "slow.json",
            """
            {"integrations": [{"id": "slow", "provider": "slow", "token_url": "\(base)/slow-rotate?held",
              "revocation_url": "\(base)/revoke",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [{"id": "slow-1", "integration": "slow", "scope": "user", "subject": "u@example.com",
              "access_token": "fake-at-0001", "refresh_token": "fake-rt-0001", "expires_in": 0}]}
            """)
    }

    /// What the server answers a GET of `path`: `/seen`, `/revoked` (one a line), `/release`, or the count issued.
    static func get(_ server: Server, _ path: String) throws -> String {
        try String(contentsOf: server.url(path), encoding: .utf8)
    }

    static func lines(_ server: Server, _ path: String) throws -> [String] {
        try get(server, path).split(separator: "\n").map(String.init)
    }

    /// Starts `tokentop refresh slow-1` and waits until the provider has rotated the token and holds its answer.
    static func startHeldRefresh(_ server: Server, env: [String: String]) async throws -> Task<Binary.Run, any Error> {
        let refresh = Task.detached { try Binary.run(["refresh", "slow-1"], environment: env) }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? get(server, "/issued")) != "1" {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(try get(server, "/issued") == "1", "the refresh never reached the provider")
        return refresh
    }

    /// Imports slow-1, starts `tokentop refresh slow-1` held by the provider, then the same import again, which
    /// waits for that refresh; the refresh, the import, and the file its standard error goes to.
    static func importAgainBehindHeldRefresh(
        _ server: Server, _ sandbox: Sandbox
    ) async throws -> (refresh: Task<Binary.Run, any Error>, importing: Binary.Background, errors: String) {
        let env = sandbox.environment
        let file = try importFile(server, sandbox)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let refresh = try await startHeldRefresh(server, env: env)
        let errors = sandbox.root.appendingPathComponent("import.err").path
        return (refresh, try Binary.start(["import", file], environment: env, stderr: errors), errors)
    }

    /// Waits until `process` says on standard error (written to `file`) that it waits, or has ended, or 20 s
    /// passed: the held request must be answered within its 30 s HTTP time limit, and on a machine loaded by the
    /// whole suite the other process may not have started yet. What the tests assert holds either way.
    static func waitForWaitingNote(_ process: Binary.Background, file: String) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, process.process.isRunning {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            if text.contains("waiting") { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func show(_ env: [String: String]) throws -> [String: Any] {
        let shown = try Binary.run(["show", "slow-1", "--json"], environment: env)
        return try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
    }

    static func historyMessages(_ object: [String: Any]) -> [String] {
        ((object["history"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }
    }

    static func sql(_ sandbox: Sandbox, _ statement: String) throws -> String {
        let run = try Binary.run(
            executable: "/usr/bin/sqlite3", ["-cmd", ".timeout 10000", sandbox.database, statement])
        try #require(run.status == 0, "\(run.stderr)")
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func importRunAgainWaitsForARefreshInFlightAndKeepsTheRotatedToken() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let (refresh, again, errors) = try await Self.importAgainBehindHeldRefresh(server, sandbox)
        defer { again.kill() }
        try await Self.waitForWaitingNote(again, file: errors)
        _ = try Self.get(server, "/release")
        #expect(await again.wait() == 0, "\((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        let refreshed = try await refresh.value
        #expect(refreshed.status == 0, "\(refreshed.stderr)")
        #expect(refreshed.stdout.hasPrefix("slow-1: refreshed"))
        let object = try Self.show(env)
        #expect(object["last_refresh_at"] is String, "the rotated token was not stored")
        #expect(object["failures"] as? Int == 0)
        #expect(object["status"] as? String == "healthy")
        #expect(Self.historyMessages(object).contains { $0.contains("kept the refresh token tokentop rotated") })
        // The import's entry is written after the refresh's. (Timed after it too when the import waited; on a machine
        // so loaded that it reached its write only after the refresh ended, it keeps the time it started.)
        let order = try Self.sql(sandbox, "SELECT kind FROM history WHERE connection_id = 'slow-1' ORDER BY id")
        #expect(order.split(separator: "\n") == ["imported", "refreshed", "imported"], "\(order)")
        // The next refresh sends the token the provider rotated, not the spent one.
        #expect(try Binary.run(["refresh", "slow-1"], environment: env).status == 0)
        #expect(try Self.lines(server, "/seen") == ["fake-rt-0001", "fake-rt-rotated-1"])
        #expect(try Self.get(server, "/issued") == "2")
    }

    /// A lease that ends protects nothing (a refresh ends within its HTTP time limit, long before): the import
    /// waits for its end, saying for what, then goes ahead.
    @Test func importWaitsForALeaseThatIsNeverGivenBackUntilItEnds() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try Self.importFile(server, sandbox)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        // A live process on this host (the provider's) holds the lease for a few seconds and never gives it back.
        let owner = "\(ProcessInfo.processInfo.hostName):\(server.process.processIdentifier):refresh-fake"
        let until = Date().timeIntervalSince1970 + 4
        _ = try Self.sql(
            sandbox, "UPDATE connections SET lease_owner = '\(owner)', lease_until = \(until) WHERE id = 'slow-1'")
        let generation = try Self.sql(sandbox, "SELECT generation FROM connections WHERE id = 'slow-1'")
        let run = try Binary.run(["import", file], environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("waiting for process \(owner), which is refreshing connection slow-1"))
        #expect(Date().timeIntervalSince1970 >= until, "the import did not wait for the lease's end")
        #expect(try Self.sql(sandbox, "SELECT generation FROM connections WHERE id = 'slow-1'") != generation)
        #expect(try Self.sql(sandbox, "SELECT COUNT(*) FROM history WHERE connection_id = 'slow-1'") == "2")
    }

    /// Ctrl-C while an import waits for another process's refresh ends the wait at once, as it ends a revocation's:
    /// nothing is imported, and the refresh goes on to store its result.
    @Test func ctrlCEndsAnImportsWaitForARefreshInFlight() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let (refresh, importing, errors) = try await Self.importAgainBehindHeldRefresh(server, sandbox)
        defer { importing.kill() }
        // Interrupted before it waits (a loaded machine), it ends the same way.
        try await Self.waitForWaitingNote(importing, file: errors)
        let said = { (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "" }
        let interrupted = Date()
        importing.process.interrupt()
        #expect(await importing.wait() == 130, "\(said())")
        let seconds = Date().timeIntervalSince(interrupted)
        #expect(seconds < 20, "the import went on waiting for \(seconds) s after Ctrl-C")
        #expect(said().contains("interrupted by signal 2: nothing was imported"), "\(said())")
        #expect(try Self.sql(sandbox, "SELECT COUNT(*) FROM history WHERE connection_id = 'slow-1'") == "1")

        _ = try Self.get(server, "/release")
        let refreshed = try await refresh.value
        #expect(refreshed.status == 0, "\(refreshed.stderr)")
        #expect(try Self.show(env)["last_refresh_at"] is String, "the refresh stored its result")
    }

    @Test func revokeWaitsForARefreshInFlightAndRevokesTheFreshTokens() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        #expect(try Binary.run(["import", try Self.importFile(server, sandbox)], environment: env).status == 0)
        let refresh = try await Self.startHeldRefresh(server, env: env)
        let errors = sandbox.root.appendingPathComponent("revoke.err").path
        let revoke = try Binary.start(["revoke", "slow-1"], environment: env, stderr: errors)
        defer { revoke.kill() }
        try await Self.waitForWaitingNote(revoke, file: errors)
        _ = try Self.get(server, "/release")
        #expect(await revoke.wait() == 0, "\((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        let refreshed = try await refresh.value
        #expect(refreshed.status == 0, "\(refreshed.stderr)")
        #expect(try Self.lines(server, "/revoked") == ["fake-rt-rotated-1", "fake-at-1"])
        let object = try Self.show(env)
        #expect(object["status"] as? String == "revoked")
        #expect(object["last_refresh_at"] is String, "the refresh was stored before the revocation")
    }

    @Test func refreshRevokedMeanwhileSaysSoAndKeepsTheLostTokenInHistory() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        #expect(try Binary.run(["import", try Self.importFile(server, sandbox)], environment: env).status == 0)
        let refresh = try await Self.startHeldRefresh(server, env: env)
        // The refresher has outlived its lease: a revoke takes the connection at once.
        _ = try Self.sql(sandbox, "UPDATE connections SET lease_until = 0 WHERE id = 'slow-1'")
        let revoked = try Binary.run(["revoke", "slow-1"], environment: env)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        _ = try Self.get(server, "/release")
        let refreshed = try await refresh.value
        #expect(refreshed.status == 1)
        #expect(!refreshed.stdout.contains("refreshed"), "\(refreshed.stdout)")
        #expect(refreshed.stderr.contains("slow-1") && refreshed.stderr.contains("revoked"), "\(refreshed.stderr)")
        let object = try Self.show(env)
        #expect(object["status"] as? String == "revoked")
        #expect(object["last_refresh_at"] is NSNull)
        #expect(Self.historyMessages(object).contains { $0.contains("had already issued a new refresh token") })
    }

    @Test func refreshSupersededByAnotherWriteSaysSoAndKeepsTheLostTokenInHistory() async throws {
        let server = try await Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        #expect(try Binary.run(["import", try Self.importFile(server, sandbox)], environment: env).status == 0)
        let refresh = try await Self.startHeldRefresh(server, env: env)
        // Another process wrote the connection meanwhile, as any write does: a new generation, no lease.
        _ = try Self.sql(
            sandbox,
            "UPDATE connections SET generation = generation + 1, lease_owner = NULL, lease_until = NULL "
                + "WHERE id = 'slow-1'")
        _ = try Self.get(server, "/release")
        let refreshed = try await refresh.value
        #expect(refreshed.status == 1)
        #expect(!refreshed.stdout.contains("refreshed"), "\(refreshed.stdout)")
        #expect(
            refreshed.stderr.contains("slow-1") && refreshed.stderr.contains("another process"),
            "\(refreshed.stderr)")
        let object = try Self.show(env)
        #expect(object["last_refresh_at"] is NSNull)
        #expect(Self.historyMessages(object).contains { $0.contains("had already issued a new refresh token") })
    }
}
