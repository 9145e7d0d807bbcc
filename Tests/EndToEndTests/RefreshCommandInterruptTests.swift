import Foundation
import Testing

/// `tokentop refresh` interrupted while the provider holds its answer: the first Ctrl-C waits for the refresh in
/// flight (its answer may carry a rotated refresh token) and starts no other; a second one abandons it, and that is
/// recorded in the connection's history and the audit log. Before, the first Ctrl-C ended the command at once
/// without a word or a record.
struct RefreshCommandInterruptTests {
    @Test func ctrlCWaitsForTheRefreshInFlightAndASecondAbandonsItOnRecord() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await Self.importRefreshingAt("/slow-rotate?held", into: sandbox)

        // Waits: the held answer comes once released, and the second id is not started.
        var refresh = try LiveProcess(["refresh", "acme-alice", "acme-key"], environment: sandbox.environment)
        try await Self.waitForRequest(server, count: 1)
        refresh.interrupt()
        try await Task.sleep(for: .milliseconds(500))
        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        var status = try await refresh.finish(timeout: 20)
        #expect(status == 130, "\(refresh.stderr)")
        #expect(refresh.stdout.hasPrefix("acme-alice: refreshed, expires in "), "\(refresh.stdout)")
        #expect(
            refresh.stderr == "tokentop: interrupted by signal 2: waiting for the refresh in flight to be stored "
                + "(at most 30s for its answer); Ctrl-C again abandons it, and a rotated refresh token with it\n"
                + "tokentop: interrupted by signal 2: not refreshed: acme-key\n", "\(refresh.stderr)")

        // A second Ctrl-C abandons the refresh in flight, on record.
        _ = try await Self.importRefreshingAt("/slow-rotate?seconds=60", into: sandbox, server: server)
        refresh = try LiveProcess(["refresh", "acme-alice"], environment: sandbox.environment)
        try await Self.waitForRequest(server, count: 2)
        refresh.interrupt()
        try await Task.sleep(for: .milliseconds(500))
        refresh.interrupt()
        status = try await refresh.finish(timeout: 10)
        #expect(status == 130, "\(refresh.stderr)")
        #expect(
            refresh.stderr.hasSuffix(
                "tokentop: interrupted again by signal 2: stopped without waiting for the request in flight\n"),
            "\(refresh.stderr)")
        let shown = try RevokeCommandTests.show("acme-alice", sandbox)
        let history = try #require(shown["history"] as? [[String: Any]])
        let abandoned =
            "abandoned before its outcome was stored: the request may have reached the provider, and a refresh "
            + "token rotated in its answer is lost"
        #expect(history.last?["kind"] as? String == "refresh_failed")
        #expect(history.last?["message"] as? String == "refresh interrupted: " + abandoned)
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let entries = try #require(try JSONSerialization.jsonObject(with: audit.output) as? [[String: Any]])
        let last = try #require(entries.last)
        #expect(last["action"] as? String == "refresh" && last["target"] as? String == "acme-alice")
        #expect(last["outcome"] as? String == "interrupted" && last["detail"] as? String == abandoned)
    }

    /// Ctrl-C while the command waits for another process's refresh of the same connection: it sends nothing, not
    /// even once that refresh ends, and a second Ctrl-C records no abandoned refresh, since none of its own left.
    @Test func ctrlCWhileWaitingForAnotherProcessSendsAndRecordsNothing() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await Self.importRefreshingAt("/slow-rotate?held", into: sandbox)
        let first = try LiveProcess(["refresh", "acme-alice"], environment: sandbox.environment)
        try await Self.waitForRequest(server, count: 1)
        let second = try LiveProcess(["refresh", "acme-alice"], environment: sandbox.environment)
        let release = server.url("/release")
        await second.interruptTwice(after: 0.8, again: 0.3, timeout: 10) {
            _ = try? String(contentsOf: release, encoding: .utf8)
        }
        let status = try await second.finish(timeout: 10)
        #expect(try await first.finish(timeout: 20) == 0, "\(first.stderr)")
        #expect(status == 130, "\(second.stderr)")
        let seen = try String(contentsOf: server.url("/seen"), encoding: .utf8)
        #expect(seen.split(separator: "\n").count == 1, "the waiting command sent a request: \(seen)")
        let history = try #require(RevokeCommandTests.show("acme-alice", sandbox)["history"] as? [[String: Any]])
        #expect(!history.contains { ($0["message"] as? String)?.hasPrefix("refresh interrupted") == true })
    }

    /// Imports the command line tests' file with acme's token endpoint at `path` of `server` (a new hostile
    /// provider when none is given), and returns the server.
    @discardableResult
    static func importRefreshingAt(
        _ path: String, into sandbox: Sandbox, server given: HostileProviderTests.Server? = nil
    ) async throws -> HostileProviderTests.Server {
        let server: HostileProviderTests.Server
        if let given { server = given } else { server = try await HostileProviderTests.Server() }
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: "http://127.0.0.1:9/token", with: server.url(path).absoluteString))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        return server
    }

    /// Waits until the provider has been sent `count` refresh requests in all, for up to 60 s: a debug build under
    /// the whole suite's load took longer than 20 s to send one. It looks once more after the deadline, since this
    /// task may have been resumed only after it.
    static func waitForRequest(_ server: HostileProviderTests.Server, count: Int) async throws {
        let deadline = Date().addingTimeInterval(60)
        while true {
            let seen = (try? String(contentsOf: server.url("/seen"), encoding: .utf8)) ?? ""
            if seen.split(separator: "\n").count >= count { return }
            guard Date() < deadline else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the provider was not sent \(count) refresh requests")
    }
}
