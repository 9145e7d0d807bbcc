import Foundation
import Testing

/// What a dashboard's stop waits for, and what it no longer starts, against a provider that holds its answers until
/// the test releases them.
@Suite(.serialized)
struct DashboardStopTmuxTests {
    /// `x y`, then `q`, while the provider holds its answer to the revocation: the stop names the revocation it
    /// waits for, not the database, and ends once the answer comes, with the connection revoked.
    @Test func aStopWithARevocationInFlightSaysItWaitsForTheRevocation() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server()
        let file = try sandbox.write(
            "import.json", RevokeCommandTests.importFile(revokingAt: server, path: "/revoke?held"))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let tmux = try Tmux(width: 200, height: 50, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 30) { $0.contains("acme-alice") }
        try #require(screen.contains("acme-alice"), "no dashboard:\n\(screen)")
        try tmux.send("/")
        try tmux.send("acme-alice", literal: true)
        try tmux.send("Enter")
        _ = try await tmux.wait { !$0.contains("Org (") }
        try tmux.send("x")
        screen = try await tmux.wait { $0.contains("Revoke acme-alice") }
        try #require(screen.contains("Revoke acme-alice"), "no confirmation:\n\(screen)")
        try tmux.send("y")
        try await Self.waitFor("the revocation at the provider") {
            !((try? String(contentsOf: server.url("/revoked"), encoding: .utf8)) ?? "").isEmpty
        }
        try tmux.send("Escape")
        try tmux.send("q")
        let waiting = PostgresLockStopTests.squeezed(
            "tokentop: waiting for 1 revocation in flight to be answered by the provider and recorded")
        screen = try await tmux.wait(timeout: 15) { PostgresLockStopTests.squeezed($0).contains(waiting) }
        #expect(PostgresLockStopTests.squeezed(screen).contains(waiting), "not said:\n\(screen)")
        #expect(!screen.contains("last writes"), "named the database:\n\(screen)")
        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        screen = try await tmux.wait(timeout: 30) { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
        #expect(try RevokeCommandTests.show("acme-alice", sandbox)["status"] as? String == "revoked")
    }

    /// `r`, then Ctrl-C twice while the provider holds its answer: the second abandons the refresh, and the
    /// connection's history and the audit log say so (an abandoned refresh left no record at all).
    @Test func aRefreshAbandonedByASecondCtrlCIsOnRecord() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await RefreshCommandInterruptTests.importRefreshingAt("/slow-rotate?held", into: sandbox)
        let tmux = try Tmux(width: 200, height: 50, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path); echo \"exit\"=$?", "Enter")
        let screen = try await tmux.wait(timeout: 30) { DashboardTmuxTests.row(of: "acme-alice", in: $0) != nil }
        try #require(DashboardTmuxTests.row(of: "acme-alice", in: screen) != nil, "no dashboard:\n\(screen)")
        try tmux.send("r")
        try await RefreshCommandInterruptTests.waitForRequest(server, count: 1)
        try tmux.send("C-c")
        _ = try await tmux.wait { $0.contains("Ctrl-C abandons it") }
        try tmux.send("C-c")
        let ended = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        #expect(DatabaseFaultTests.exitStatus(in: ended) == 130, "\(ended)")
        let history = try #require(RevokeCommandTests.show("acme-alice", sandbox)["history"] as? [[String: Any]])
        #expect((history.last?["message"] as? String)?.hasPrefix("refresh interrupted: abandoned before") == true)
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let entries = try #require(try JSONSerialization.jsonObject(with: audit.output) as? [[String: Any]])
        #expect(entries.last?["action"] as? String == "refresh")
        #expect(entries.last?["outcome"] as? String == "interrupted", "\(entries.last ?? [:])")
    }

    /// Fourteen marked rows refreshed two at a time against a provider that holds its answers, then `q`: the stop
    /// waits for the two requests that left, says two, sends none of the twelve still queued, and says so once the
    /// terminal is back, naming ten of them and counting the rest; no lease stays held.
    @Test func aStopSendsNoQueuedRefreshAndWaitsOnlyForTheRequestsThatLeft() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server()
        let count = 14
        let connections = (1...count).map { number in
            """
            {"id": "slow-\(number)", "integration": "slow", "scope": "user", "subject": "u\(number)@example.com",
             "access_token": "fake-at-\(number)", "refresh_token": "fake-rt-\(number)",
             "expires_at": "\(CommandLineTests.farFuture)"}
            """
        }
        let file = try sandbox.write(
            "slow.json",
            """
            {"integrations": [{"id": "slow", "provider": "slow", "token_url": "\(server.url("/slow-rotate?held"))",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [\(connections.joined(separator: ",\n"))]}
            """)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let tmux = try Tmux(width: 200, height: 50, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) --concurrency 2; echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 30) { $0.contains("slow-\(count)") }
        try #require(screen.contains("slow-\(count)"), "no dashboard:\n\(screen)")
        for _ in 1...count { try tmux.send("Space") }
        try tmux.send("r")
        screen = try await tmux.wait { $0.contains("Refresh \(count) connections now?") }
        try #require(screen.contains("Refresh \(count) connections now?"), "no confirmation:\n\(screen)")
        try tmux.send("y")
        let issued = { (try? String(contentsOf: server.url("/issued"), encoding: .utf8)) ?? "" }
        try await Self.waitFor("two requests at the provider") { issued() == "2" }
        try tmux.send("q")
        let waiting = PostgresLockStopTests.squeezed("tokentop: waiting for 2 refreshes in flight to be stored")
        screen = try await tmux.wait(timeout: 15) { PostgresLockStopTests.squeezed($0).contains(waiting) }
        #expect(PostgresLockStopTests.squeezed(screen).contains(waiting), "not said:\n\(screen)")
        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        screen = try await tmux.wait(timeout: 30) { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: screen) == 0, "\(screen)")
        #expect(issued() == "2", "requests sent after the stop began")
        // The twelve turned away are named once the terminal is back: ten by id, the rest counted.
        let notSent = PostgresLockStopTests.squeezed(
            "tokentop: stopping: 12 refreshes you asked for were not sent (tokentop stopped first); they are renewed "
                + "on schedule, or run `tokentop refresh ID…` now: slow-")
        let squeezed = PostgresLockStopTests.squeezed(screen)
        #expect(squeezed.contains(notSent), "not said:\n\(screen)")
        #expect(squeezed.contains("(and2more)"), "not counted:\n\(screen)")

        // Their leases went back: each queued one is refreshed at once by the next process.
        let started = Date()
        let run = try Binary.run(
            ["refresh"] + (1...count).map { "slow-\($0)" }, environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Date().timeIntervalSince(started) < 20, "waited for a lease")
        #expect(issued() == "\(count + 2)")
    }

    /// Polls `condition` for up to 20 s without holding a thread of the pool.
    static func waitFor(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while !condition(), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try #require(condition(), "no \(what) within 20 s")
    }
}
