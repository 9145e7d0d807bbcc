import Foundation
import Testing

@testable import TokentopCore

/// The per-provider circuit breaker on its own, with times and randomness in the test's hands.
struct ProviderBreakerTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let outage = ProviderError(kind: .transient, error: "server_error", status: 503)

    func at(_ seconds: Double) -> Date { start.addingTimeInterval(seconds) }

    /// A breaker whose jitter is always `random`.
    func breaker(random: Double = 0) -> ProviderBreaker {
        ProviderBreaker(policy: .standard, random: { random })
    }

    /// Records transient failures of `connections` in turn, one second apart from `from`; returns the last change.
    @discardableResult
    func fail(
        _ breaker: inout ProviderBreaker, _ connections: [String], from: Double = 0, provider: String = "acme"
    ) -> ProviderBreaker.Change? {
        var change: ProviderBreaker.Change?
        for (offset, id) in connections.enumerated() {
            change = breaker.record(id, provider: provider, failure: outage, at: at(from + Double(offset)))
        }
        return change
    }

    @Test func opensAtFiveFailuresOnThreeConnectionsWithinThirtySeconds() throws {
        var breaker = breaker()
        #expect(fail(&breaker, ["a", "b", "c", "a"]) == nil)
        let change = try #require(fail(&breaker, ["b"], from: 4))
        let expected = ProviderOutage(
            provider: "acme", since: at(4), heldRefreshes: 0, nextProbeAt: at(4 + 15), lastError: outage)
        #expect(change == .opened(expected))
        #expect(breaker.outages == [expected])
        #expect(breaker.admit("d", provider: "acme", at: at(5)) == .held)
        #expect(breaker.admit("e", provider: "acme", at: at(5)) == .held)
        #expect(breaker.outages.first?.heldRefreshes == 2)
        #expect(breaker.admit("x", provider: "other", at: at(5)) == .proceed, "one provider's outage is its own")
        let banner = breaker.outages.first?.banner(at: at(7))
        #expect(banner == "provider acme is failing: 2 refreshes paused, next try in 12s (server_error (HTTP 503))")
    }

    @Test(arguments: [
        ["a", "b", "a", "b", "a", "b"],  // many failures, but only two connections: their problem, not the provider's
        ["a", "b", "c", "d"],  // four failures only
    ])
    func staysClosedBelowEitherThreshold(connections: [String]) {
        var breaker = breaker()
        #expect(fail(&breaker, connections) == nil)
        #expect(breaker.outages.isEmpty)
        #expect(breaker.admit("z", provider: "acme", at: at(10)) == .proceed)
    }

    @Test func failuresOlderThanTheWindowDoNotCount() {
        var breaker = breaker()
        fail(&breaker, ["a", "b", "c"])
        #expect(fail(&breaker, ["d", "e"], from: 40) == nil, "the first three fell out of the 30-second window")
        #expect(breaker.outages.isEmpty)
    }

    @Test func anAnswerInBetweenStartsTheCountAgain() {
        var breaker = breaker()
        fail(&breaker, ["a", "b", "c", "d"])
        #expect(breaker.record("e", provider: "acme", failure: nil, at: at(4)) == nil)
        #expect(fail(&breaker, ["f", "g", "h", "i"], from: 5) == nil)
        #expect(breaker.outages.isEmpty)
    }

    @Test func afterTheCoolDownOneProbeGoesOutAndAFailedProbeDoublesTheWait() {
        var breaker = breaker()
        fail(&breaker, ["a", "b", "c", "d", "e"])  // opens at 4 s; first probe at 19 s
        for id in ["h1", "h2", "h3"] { _ = breaker.admit(id, provider: "acme", at: at(6)) }
        #expect(breaker.probes(at: at(18)).isEmpty)
        #expect(breaker.probes(at: at(19)) == ["h1"])
        #expect(breaker.probes(at: at(19)).isEmpty, "one probe at a time")
        #expect(breaker.outages.first?.nextProbeAt == nil)
        let banner = breaker.outages.first?.banner(at: at(19))
        #expect(banner == "provider acme is failing: 2 refreshes paused, trying now (server_error (HTTP 503))")
        #expect(breaker.admit("h4", provider: "acme", at: at(20)) == .held, "others wait for the probe")
        // The probe fails: 30 s this time.
        #expect(breaker.record("h1", provider: "acme", failure: outage, at: at(21)) == nil)
        #expect(breaker.outages.first?.nextProbeAt == at(51))
        #expect(breaker.probes(at: at(50)).isEmpty)
        #expect(breaker.probes(at: at(51)) == ["h2"])
        // It answers: closed, and every held refresh is released, the failed probe's own retry included.
        let change = breaker.record("h2", provider: "acme", failure: nil, at: at(52))
        #expect(change == .closed(provider: "acme", since: at(4), released: ["h3", "h4"]))
        #expect(breaker.outages.isEmpty)
        #expect(breaker.admit("h5", provider: "acme", at: at(53)) == .proceed)
    }

    @Test func theCoolDownGrowsToItsCapAndHonoursRetryAfter() throws {
        var breaker = breaker(random: 0.999)
        fail(&breaker, ["a", "b", "c", "d", "e"])
        var probeAt = try #require(breaker.outages.first?.nextProbeAt)
        #expect(abs(probeAt.timeIntervalSince(at(4)) - 15 * 1.24975) < 0.001, "up to 25 % jitter")
        for _ in 0..<10 {
            _ = breaker.admit("p", provider: "acme", at: probeAt)
            _ = breaker.record("p", provider: "acme", failure: outage, at: probeAt)
            let next = try #require(breaker.outages.first?.nextProbeAt)
            #expect(next.timeIntervalSince(probeAt) <= 300 * 1.25)
            probeAt = next
        }
        #expect(probeAt.timeIntervalSince(at(4)) > 1_000, "it kept growing")
        var slow = self.breaker()
        var busy = outage
        busy.retryAfter = 120
        fail(&slow, ["a", "b", "c", "d"])
        _ = slow.record("e", provider: "acme", failure: busy, at: at(4))
        #expect(slow.outages.first?.nextProbeAt == at(124))
    }

    @Test func aRefusedGrantProvesTheProviderIsUpButALocalProblemProvesNothing() {
        var breaker = breaker()
        fail(&breaker, ["a", "b", "c", "d", "e"])
        _ = breaker.admit("held", provider: "acme", at: at(5))
        let local = ProviderError(kind: .configuration, error: "no_private_key")
        #expect(breaker.record("k", provider: "acme", failure: local, at: at(6)) == nil)
        #expect(breaker.outages.count == 1)
        let refused = ProviderError(kind: .invalidGrant, error: "invalid_grant", status: 400)
        let change = breaker.record("r", provider: "acme", failure: refused, at: at(7))
        #expect(change == .closed(provider: "acme", since: at(4), released: ["held"]))
    }

    @Test func anAbandonedProbeHandsOverToTheNextDueRefresh() {
        var breaker = breaker()
        fail(&breaker, ["a", "b", "c", "d", "e"])
        #expect(breaker.admit("first", provider: "acme", at: at(19)) == .probe)
        breaker.abandon("first", at: at(20))
        #expect(breaker.admit("second", provider: "acme", at: at(20)) == .probe)
        breaker.abandon("someone-else", at: at(20))
        #expect(breaker.admit("third", provider: "acme", at: at(21)) == .held)
    }

    @Test func releasesSpreadOverTheReleaseWindow() {
        #expect(breaker(random: 0).releaseTime(after: at(0)) == at(0))
        #expect(breaker(random: 0.5).releaseTime(after: at(0)) == at(15))
    }
}

/// The refresh actor and a sandbox provider that goes down for a few minutes, on a hand-moved clock.
struct ProviderOutageTests {
    let clock = TestClock()

    @Test func anOutagePausesTheProviderThenResumesWithJitter() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try outageEngine(
            in: directory, down: 250, providers: [("acme", 30), ("globex", 3)]
        ) { index in index < 20 ? 200 : 100_000 }
        // 100 s on, 20 acme tokens and the 3 globex ones are due (lead: half their 200-second lifetime, less jitter),
        // and still valid for 100 s; the provider is down until 250 s.
        clock.advance(100)
        engine.start()
        let opened = try await waitFor { engine.snapshot().outages.first?.heldRefreshes ?? 0 >= 14 }
        #expect(opened)
        let outage = try #require(engine.snapshot().outages.first)
        #expect(engine.snapshot().outages.count == 1)
        #expect(outage.provider == "acme")
        #expect(outage.lastError?.status == 503)
        let globexDone = try await waitFor {
            engine.snapshot().connections.filter { $0.id.hasPrefix("globex") && $0.lastRefreshAt != nil }.count == 3
        }
        #expect(globexDone, "another provider keeps refreshing")
        let failed = engine.snapshot().connections.filter { $0.failures > 0 }
        #expect(failed.count >= 5 && failed.count <= 6, "five failures open it; one more may have been in flight")
        #expect(failed.allSatisfy { $0.id.hasPrefix("acme") })
        for connection in engine.snapshot().connections where connection.id.hasPrefix("acme") {
            let status = engine.snapshot().status(of: connection, at: clock.now())
            #expect(status != .expired && status != .needsReauth, "\(connection.id) is still valid: \(status)")
            #expect(connection.expiresAt.map { $0 > clock.now() } == true)
        }
        let errors = try engine.store.history(since: 0).entries.filter { $0.kind == .refreshFailed }.count
        #expect(errors == failed.count, "held refreshes write no error")

        // A probe during the outage fails and keeps it open; nothing else is sent, though retries came due.
        clock.advance(20)
        let probed = try await waitFor {
            engine.snapshot().outages.first?.nextProbeAt.map { $0 > clock.now() } ?? false
        }
        #expect(probed)
        // The breaker hears of the probe's failure before the writer has stored it: wait for the history entry.
        let failures = {
            (try? engine.store.history(since: 0).entries.filter { $0.kind == .refreshFailed }.count) ?? -1
        }
        let recorded = try await waitFor { failures() == errors + 1 }
        #expect(recorded, "one probe, one failure")
        try await Task.sleep(nanoseconds: 200_000_000)
        #expect(failures() == errors + 1, "nothing else was sent")

        // The provider is back: the next probe closes the breaker and the held refreshes resume spread out.
        clock.advance(131)
        let closed = try await waitFor { engine.snapshot().outages.isEmpty }
        #expect(closed)
        for _ in 0..<32 {
            clock.advance(1)
            try await Task.sleep(nanoseconds: 30_000_000)
        }
        let renewed = try await waitFor {
            engine.snapshot().connections.filter { $0.id.hasPrefix("acme") && $0.lastRefreshAt != nil }.count == 20
        }
        #expect(renewed)
        await engine.stop()
        let acme = engine.snapshot().connections.filter { $0.id.hasPrefix("acme-") && $0.lastRefreshAt != nil }
        #expect(acme.allSatisfy { $0.failures == 0 && $0.reauthReason == nil })
        let seconds = Set(acme.compactMap { $0.lastRefreshAt.map { Int($0.timeIntervalSince1970) } })
        #expect(seconds.count >= 5, "released over many seconds, not at once: \(seconds.count)")
    }

    /// A refresh the breaker holds is not a failure of that connection; once its token runs out it is still not
    /// `expired` (its refresh token renews it when the provider is back, no human needed), but overdue, and
    /// `status` warns (exit 1) that refreshes are not getting through.
    @Test func aHeldRefreshWhoseTokenRunsOutIsOverdueNotExpired() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try outageEngine(in: directory, down: 3600, providers: [("acme", 12)]) { _ in 200 }
        clock.advance(100)
        engine.start()
        let opened = try await waitFor { engine.snapshot().outages.first?.heldRefreshes ?? 0 >= 5 }
        #expect(opened)
        // The breaker's probe may be in flight (`refreshing`, by design); every other held refresh is `expiring`.
        let atOpening = engine.snapshot()
        let held = atOpening.connections.filter { $0.failures == 0 && !atOpening.inFlight.contains($0.id) }
        #expect(held.count >= 4, "refreshes held, with nothing recorded against them")
        for connection in held {
            #expect(atOpening.status(of: connection, at: clock.now()) == .expiring, "\(connection.id)")
        }
        // Past the tokens' expiry, with the provider still down and the breaker open.
        clock.advance(101)
        // A probe may go out meanwhile, and fail: wait until none is in flight.
        try await Task.sleep(nanoseconds: 100_000_000)
        #expect(try await waitFor { engine.snapshot().inFlight.isEmpty })
        let snapshot = engine.snapshot()
        #expect(!snapshot.outages.isEmpty, "the breaker still holds them")
        for connection in snapshot.connections {
            let status = snapshot.status(of: connection, at: clock.now())
            // Held ones are due; one a probe tried is failing: the refresh actor's to act on, either way.
            let expected: ConnectionStatus = connection.failures == 0 ? .expiring : .failing
            #expect(status == expected, "\(connection.id)")
            #expect(connection.isOverdue(at: clock.now(), status: status), "\(connection.id)")
        }
        let counts = snapshot.counts(at: clock.now())
        #expect(counts[.expired] == nil)
        #expect((counts[.expiring] ?? 0) + (counts[.failing] ?? 0) == 12)
        let summary = StatusSummary(snapshot, at: clock.now())
        #expect(summary.exitCode == 1)
        #expect(summary.overdue == 12)
        #expect(summary.line.hasPrefix("WARNING: 12 connections: "))
        #expect(summary.line.hasSuffix("; 12 overdue (past expiry, not renewed: is a daemon or dashboard running?)"))
        await engine.stop()
    }

    /// An operator's refresh of a connection the open breaker holds goes out: its failure is recorded on it (it
    /// was held without a word, showed "refreshing" and recorded nothing), and its answer would close the breaker.
    @Test func anOperatorsRefreshGoesOutThroughAnOpenBreaker() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try outageEngine(in: directory, down: 3600, providers: [("acme", 12)]) { _ in 200 }
        clock.advance(100)
        engine.start()
        #expect(try await waitFor { engine.snapshot().outages.first?.heldRefreshes ?? 0 >= 5 })
        #expect(try await waitFor { engine.snapshot().inFlight.isEmpty })
        let held = try #require(engine.snapshot().connections.first { $0.failures == 0 })
        let asked = clock.now()
        let refreshed = try await engine.refreshNow(held.id)
        #expect(refreshed.failures == 1, "the request went out and its failure is recorded")
        #expect(refreshed.lastError?.status == 503)
        #expect(refreshed.lastRefreshAt == nil)
        let entries = try engine.store.history(since: 0).entries.filter {
            $0.connectionID == held.id && $0.kind == .refreshFailed
        }
        #expect(entries.count == 1 && entries.first.map { $0.at >= asked } == true)
        #expect(!engine.snapshot().outages.isEmpty, "a failed request by hand leaves the breaker open")
        await engine.stop()
    }

    /// Polls `condition` for up to ten seconds of real time.
    func waitFor(_ condition: () throws -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if try condition() { return true }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return false
    }

    /// A store over a sandbox with `providers` (each with that many connections holding refresh tokens that expire
    /// in `expiresIn(index)` seconds), `acme` down for `down` seconds from now, and an engine over it with two
    /// requests at a time.
    func outageEngine(
        in directory: URL, down: Double, providers: [(name: String, count: Int)], expiresIn: (Int) -> Int
    ) throws -> Engine {
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        var integrations: [[String: Any]] = []
        var connections: [[String: Any]] = []
        for (provider, count) in providers {
            let outage = provider == "acme" ? clock.now()...clock.now().addingTimeInterval(down) : nil
            sandbox.addProvider(provider, behaviour: .init(rotates: true, lifetimes: 3600...3600, outage: outage))
            sandbox.addClient(id: "client-\(provider)", secret: Secret("fake-client-secret"), provider: provider)
            integrations.append([
                "id": provider, "provider": provider,
                "token_url": SandboxProvider.tokenURL(provider).absoluteString, "client_id": "client-\(provider)",
                "client_secret": "fake-client-secret",
            ])
            for index in 0..<count {
                let refresh = "fake-rt-\(provider)-\(index)"
                sandbox.issueRefreshToken(Secret(refresh), clientID: "client-\(provider)")
                connections.append([
                    "id": "\(provider)-\(index)", "integration": provider, "scope": "user",
                    "subject": "u\(index)@\(provider).example", "access_token": "fake-at-\(provider)-\(index)",
                    "refresh_token": refresh, "expires_in": expiresIn(index),
                ])
            }
        }
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": integrations, "connections": connections,
        ])
        _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        var policy = RefreshPolicy.standard
        policy.concurrency = 2
        return try Engine(store: store, transport: sandbox, timeSource: clock, policy: policy)
    }
}
