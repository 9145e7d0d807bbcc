import Foundation
import Testing
import TokentopCore
import TokentopTestSupport

extension PostgresSharedStoreTests {
    static let killTokens = 2_000

    /// `kill -9` of one of three daemons once a twentieth of the work is done: the other two finish all of it,
    /// including the refreshes the killed one had leased and not finished.
    ///
    /// How soon they take a dead daemon's lease over depends on where it ran. On the same host its pid is gone,
    /// and the per-connection claim (`Store.claimLease` with `LeaseOwner.isGone`) takes the lease at once; from
    /// another host nobody can tell, and the lease ends when it expires (90 s, `RefreshActor.leaseDuration`). The
    /// batch claim (`Store.claimDue`) waits for the expiry in both cases. The test holds either way, and prints how
    /// long the takeover took: the private server's rotation grace window (300 s) outlasts the lease, so a refresh
    /// the killed daemon sent (and the provider answered by rotating) can still be retried with the old token.
    @Test func aDaemonKilledMidRunLeavesNoWorkUndone() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await OAuthServerFixture.startPrivate(
            runDirectory: sandbox.root.appendingPathComponent("dot-run").path,
            settings: ["TOKENTOP_OAUTH_GRACE_SECONDS": "300"])
        defer { try? server.stop() }
        let url = try PostgresServer.freshDatabase(label: "pg kill")
        defer { try? PostgresServer.dropDatabase(url) }
        let pairs = try server.seed(client: server.basicClient, count: Self.killTokens)
        let ids = pairs.indices.map { "pg-kill-\($0)" }
        let file = try Self.importFile(server: server, sandbox: sandbox, ids: ids, pairs: pairs, expiresIn: 0)
        let environment = Self.environment(sandbox, store: url)
        let imported = try Binary.run(["import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let started = Date()
        // One request each over 2,000 tokens, so that the run lasts about a minute: CI's parallel suites have left
        // this test unresumed for 15 s and more, and at eight requests each, then two, the run ended unseen.
        let daemons = try (0..<3).map { _ in
            try Binary.startLoggingDaemon(environment: environment, arguments: ["--concurrency", "1"])
        }
        defer { for (daemon, _) in daemons where daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) } }
        let store = try Store.open(path: url, secrets: SecretBox(key: InteropTests.key), create: false)
        let before = try await Self.waitForRefreshes(of: Self.killTokens, in: store, seconds: 240) {
            $0.refreshed >= Self.killTokens / 20
        }
        try #require(before.failures == 0 && before.refreshed < Self.killTokens, "no run to interrupt: \(before)")

        // The victim is the daemon holding the most leases right now, so that the kill leaves work half done.
        let holders = try Self.leaseHolders(url)
        let pids = daemons.map(\.0.processIdentifier)
        var leases: [Int32: Int] = [:]
        for (owner, count) in holders { if let pid = Self.pid(ofOwner: owner) { leases[pid, default: 0] += count } }
        let victim = pids.max { leases[$0] ?? 0 < leases[$1] ?? 0 } ?? pids[0]
        // Frozen first, then killed: while it is stopped its pid is alive and its leases unexpired, so nobody
        // takes them, and the statements it had already sent finish; the leases counted then are exactly the
        // refreshes it leaves unfinished.
        kill(victim, SIGSTOP)
        try await Task.sleep(nanoseconds: 500_000_000)
        let orphaned = try Self.leaseHolders(url).filter { Self.pid(ofOwner: $0.key) == victim }.values.reduce(0, +)
        kill(victim, SIGKILL)
        let killedAt = Date()
        // Reaped at once: a zombie still answers kill(pid, 0) as if it were alive, and would keep its leases.
        _ = await daemons.first { $0.0.processIdentifier == victim }?.0.exited()

        let after = try await Self.waitForRefreshes(of: Self.killTokens, in: store, seconds: 240)
        let finishing = Date().timeIntervalSince(killedAt)
        var perProcess: [String] = []
        for (daemon, log) in daemons where daemon.processIdentifier != victim {
            kill(daemon.processIdentifier, SIGTERM)
            #expect(await daemon.exited() == 0)
            let count = try await log.waitFor("daemon stopped", seconds: 5)?["refreshes"] as? Int ?? -1
            #expect(count > 0, "a surviving daemon took part")
            perProcess.append(String(count))
        }
        #expect(after.refreshed == Self.killTokens, "refreshed \(after.refreshed) of \(Self.killTokens)")

        let stored = try store.connections()
        #expect(stored.filter { $0.lastRefreshAt == nil }.isEmpty, "every connection refreshed")
        #expect(stored.filter { $0.reauthReason != nil }.isEmpty, "needs-reauth")
        #expect(stored.filter { $0.failures > 0 }.isEmpty, "failing")
        let history = try store.history(since: 0).entries
        let refused = history.filter {
            $0.error?.error == "invalid_grant" || $0.kind == .needsReauth || $0.kind == .refreshFailed
        }
        #expect(refused.isEmpty, "\(refused.count) refused or failed, first: \(refused.first?.message ?? "")")
        let left = try Self.leaseHolders(url).filter { Self.pid(ofOwner: $0.key) == victim }
        #expect(left.isEmpty, "connections still leased by the killed daemon: \(left.values.reduce(0, +))")
        let resumed = history.filter {
            $0.kind == .refreshed && $0.message.contains("resumed a refresh that a stopped process left unfinished")
        }
        #expect(orphaned > 0, "the killed daemon held no lease; the kill interrupted nothing")
        #expect(resumed.count >= 1, "a refresh the killed daemon left unfinished was resumed")
        #expect(resumed.count == orphaned, "resumed \(resumed.count) for \(orphaned) leases held at the kill")
        // Within the lease time either way (see above). With the per-connection claim on one host the lease is free
        // at once, but a survivor that found it busy looks again only 2 s later, behind the due work still queued:
        // the resumed refreshes come near the end of the run (measured: 7 s after the kill, with 8 s of work left).
        let takeover = resumed.map { $0.at.timeIntervalSince(killedAt) }
        #expect((takeover.max() ?? 0) < 90 + 30, "the killed daemon's leases were taken over within their lease time")
        print(
            "postgres kill -9: 3 daemons x \(Self.killTokens) due tokens, one killed after "
                + String(format: "%.1f s ", killedAt.timeIntervalSince(started))
                + "with \(before.refreshed) refreshed and \(orphaned) leases held; the other two finished in "
                + String(format: "%.1f s ", finishing) + "(refreshes \(perProcess.joined(separator: ", "))); "
                + "\(resumed.count) resumed after the kill, the first "
                + String(format: "%.1f s and the last %.1f s after it; ", takeover.min() ?? -1, takeover.max() ?? -1)
                + "invalid_grant or needs-reauth \(refused.count)")
    }
}
