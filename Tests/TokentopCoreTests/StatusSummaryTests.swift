import Foundation
import Testing

@testable import TokentopCore

/// `tokentop status`: 0 all well, 1 something failing or overdue, 2 something needs re-auth or has expired (past
/// expiry, and nothing can renew it).
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

    /// A token nobody renewed past its expiry (no daemon runs) is `expiring`, since its refresh token can still
    /// renew it, but overdue: a warning for the on-call engineer, not a re-auth for a human.
    @Test func aRenewableTokenPastItsExpiryIsOverdueAndAWarning() {
        let summary = Self.summary([Self.renewable("alice", expiresIn: 3000), Self.renewable("bob", expiresIn: -5)])
        #expect(summary.exitCode == 1)
        #expect(summary.overdue == 1)
        #expect(
            summary.line
                == "WARNING: 2 connections: 1 healthy, 1 expiring; "
                + "1 overdue (past expiry, not renewed: is a daemon or dashboard running?)")
    }

    /// A token exchange child that was never minted has no token at all: a refresh is due (`expiring`, as the
    /// dashboard shows it) since it was created, so it is overdue, a warning, not OK.
    @Test func aDerivedTokenNeverMintedIsOverdueAndAWarning() {
        let parent = Self.renewable("leo", expiresIn: 3000)
        let child = Connection(
            id: "leo-ledger", integrationID: "acme", scope: .delegated, subject: "leo@example.com",
            credential: .oauth2, grant: .tokenExchange, createdAt: Self.now.addingTimeInterval(-600), parentID: "leo")
        let snapshot = DashboardSnapshot(databasePath: "test", connections: [parent, child])
        let status = snapshot.status(of: child, at: Self.now)
        #expect(status == .expiring)
        #expect(child.isOverdue(at: Self.now, status: status))
        let summary = StatusSummary(snapshot, at: Self.now, refresherRunning: false)
        #expect(summary.exitCode == 1)
        #expect(summary.overdue == 1)
        #expect(
            summary.line
                == "WARNING: 2 connections: 1 healthy, 1 expiring; 1 overdue (past expiry or never minted, not "
                + "renewed: no daemon or dashboard refreshes this store)")
    }

    /// Whether a refresher runs decides what an overdue token suggests: none running, or its refreshes failing.
    @Test(arguments: [
        (true, "a refresher is running: `tokentop show ID` gives each one's last error"),
        (false, "no daemon or dashboard refreshes this store"),
    ])
    func overdueTokensSayWhetherARefresherRuns(running: Bool, why: String) {
        let snapshot = DashboardSnapshot(databasePath: "test", connections: [Self.renewable("bob", expiresIn: -5)])
        let summary = StatusSummary(snapshot, at: Self.now, refresherRunning: running)
        #expect(summary.line.hasSuffix("1 overdue (past expiry, not renewed: \(why))"), "\(summary.line)")
    }

    /// Inside its lead window but not yet past expiry, a token is due, not overdue: the refresh actor has time.
    @Test func aTokenDueButNotYetPastItsExpiryIsOK() {
        let summary = Self.summary([Self.renewable("alice", expiresIn: 3000), Self.renewable("bob", expiresIn: 5)])
        #expect(summary.exitCode == 0)
        #expect(summary.overdue == 0)
        #expect(summary.line == "OK: 2 connections: 1 healthy, 1 expiring")
    }

    /// A token with no refresh token expiring within the shortest lead window warns before it runs out; later, or
    /// once expired (then critical), it does not.
    @Test func aTokenNothingCanRenewWarnsBeforeItExpires() {
        func unrenewable(_ id: String, expiresIn: Double) -> Connection {
            var connection = Self.renewable(id, expiresIn: expiresIn)
            connection.refreshFingerprint = nil
            return connection
        }
        #expect(!unrenewable("x", expiresIn: 60).isRenewable)
        let soon = Self.summary([Self.renewable("alice", expiresIn: 3000), unrenewable("carol", expiresIn: 240)])
        #expect(soon.exitCode == 1)
        #expect(soon.expiringUnrenewable == ["carol"])
        #expect(
            soon.line == "WARNING: 2 connections: 2 healthy; 1 expires within 5m00s with nothing to renew it (carol)")
        let later = Self.summary([unrenewable("carol", expiresIn: 900)])
        #expect(later.exitCode == 0 && later.line == "OK: 1 connection: 1 healthy")
        let gone = Self.summary([unrenewable("carol", expiresIn: -1)])
        #expect(gone.exitCode == 2 && gone.expiringUnrenewable.isEmpty)
    }

    @Test func aTokenWhoseRefreshFailsIsAWarningBeforeAndAfterItsExpiry() {
        let failing = Self.renewable("bob", expiresIn: 120, failures: 3)
        let warning = Self.summary([Self.renewable("alice", expiresIn: 3000), failing])
        #expect(warning.exitCode == 1)
        #expect(warning.line == "WARNING: 2 connections: 1 healthy, 1 failing")
        var ran = failing
        ran.expiresAt = Self.now
        let overdue = Self.summary([Self.renewable("alice", expiresIn: 3000), ran])
        #expect(overdue.exitCode == 1)
        #expect(
            overdue.line
                == "WARNING: 2 connections: 1 healthy, 1 failing; "
                + "1 overdue (past expiry, not renewed: is a daemon or dashboard running?)")
    }

    /// `expired` in DESIGN.md's sense: past expiry with nothing to renew it. A human must act: exit 2, and the
    /// overdue count still says what else waits for a refresher.
    @Test func aTokenNothingCanRenewPastItsExpiryIsCritical() {
        var stranded = Self.renewable("carol", expiresIn: -60)
        stranded.refreshFingerprint = nil
        let summary = Self.summary([Self.renewable("bob", expiresIn: -5), stranded])
        #expect(summary.exitCode == 2)
        #expect(
            summary.line
                == "CRITICAL: 2 connections: 1 expiring, 1 expired; a human must act on carol (expired); "
                + "1 overdue (past expiry, not renewed: is a daemon or dashboard running?)")
        let alone = Self.summary([stranded])
        #expect(alone.exitCode == 2)
        #expect(alone.overdue == 0)
        #expect(alone.line == "CRITICAL: 1 connection: 1 expired; a human must act on carol (expired)")
    }

    /// The critical line names who waits for a human, with the status that says why: the first five, then how many
    /// more, so that a fleet-wide failure still fits one line.
    @Test(arguments: [1, 5, 6, 12])
    func theCriticalLineNamesTheConnectionsAHumanMustActOn(count: Int) {
        var connections = [Self.renewable("alice", expiresIn: 3000)]
        for index in 1...count {
            var refused = Self.renewable(String(format: "user-%02d", index), expiresIn: 3000)
            refused.reauthReason = "invalid_grant (HTTP 400)"
            connections.append(refused)
        }
        let summary = Self.summary(connections)
        #expect(summary.exitCode == 2)
        #expect(summary.needsHuman.count == count)
        let named = (1...min(count, 5)).map { String(format: "user-%02d (needs-reauth)", $0) }
        let more = count > 5 ? " and \(count - 5) more" : ""
        #expect(
            summary.line
                == "CRITICAL: \(count + 1) connections: 1 healthy, \(count) needs-reauth; a human must act on "
                + named.joined(separator: ", ") + more)
    }

    @Test func allWellIsZero() {
        let summary = Self.summary([Self.renewable("alice", expiresIn: 3000)])
        #expect(summary.exitCode == 0)
        #expect(summary.line == "OK: 1 connection: 1 healthy")
    }

    /// The engine's running counts (which `status` reads) follow the clock into a renewable token's lead window,
    /// and the summary sees it pass its expiry unrenewed; a token nothing can renew turns expired on the clock too.
    @Test func theEnginesRunningCountsSeeTokensRunOut() throws {
        let clock = TestClock()
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        var connections: [[String: Any]] = [("alice", 3600), ("bob", 600)].map { id, lifetime in
            [
                "id": id, "integration": "acme", "scope": "user", "subject": "\(id)@example.com",
                "access_token": "fake-at-\(id)-0001", "refresh_token": "fake-rt-\(id)-0001", "expires_in": lifetime,
            ]
        }
        connections.append([
            "id": "carol", "integration": "acme", "scope": "user", "subject": "carol@example.com",
            "access_token": "fake-at-carol-0001", "expires_in": 900,
        ])
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
        #expect(StatusSummary(engine.snapshot(), at: clock.now()).line == "OK: 3 connections: 3 healthy")
        clock.advance(400)
        #expect(engine.snapshot().counts(at: clock.now()) == [.healthy: 2, .expiring: 1])
        #expect(StatusSummary(engine.snapshot(), at: clock.now()).exitCode == 0)
        clock.advance(200)
        let snapshot = engine.snapshot()
        #expect(snapshot.counts(at: clock.now()) == [.healthy: 2, .expiring: 1])
        let summary = StatusSummary(snapshot, at: clock.now())
        #expect(summary.exitCode == 1)
        // carol has no refresh token and 300 s left: someone must act before she runs out.
        #expect(
            summary.line
                == "WARNING: 3 connections: 2 healthy, 1 expiring; "
                + "1 overdue (past expiry, not renewed: is a daemon or dashboard running?); "
                + "1 expires within 5m00s with nothing to renew it (carol)")
        let bob = try #require(snapshot.connection(id: "bob"))
        #expect(snapshot.status(of: bob, at: clock.now()) == .expiring)
        // Nobody must re-authorize bob: the refresh actor renews him once it runs.
        // carol, though, must be re-authorized before her token runs out.
        let carol = try #require(snapshot.connection(id: "carol"))
        let asked = Engine.reauthPrompt(for: carol, at: clock.now(), policy: snapshot.policy)
        #expect(asked.who == "the user carol@example.com must sign in again")
        #expect(
            asked.reason == "nothing can renew the token, which expires in 5m00s: re-authorize it before it runs out")
        let prompt = Engine.reauthPrompt(for: bob, at: clock.now(), policy: snapshot.policy)
        #expect(prompt.who == "nobody needs to act now")
        // carol has no refresh token: expired at her expiry, by the clock alone, and critical.
        clock.advance(300)
        let later = engine.snapshot()
        #expect(later.counts(at: clock.now()) == [.healthy: 1, .expiring: 1, .expired: 1])
        let critical = StatusSummary(later, at: clock.now())
        #expect(critical.exitCode == 2)
        #expect(critical.overdue == 1)
    }

    /// An API key whose last probe failed (`■ static ✗`: a 500, no answer) is a warning, named; a refused one is
    /// needs-reauth and a revoked one nobody's concern, so neither is counted again.
    @Test func aStaticKeyWhoseProbeFailedIsAWarning() {
        func key(_ id: String, ok: Bool?, reauth: String? = nil, revoked: Bool = false) -> Connection {
            Connection(
                id: id, integrationID: "acme", scope: .org, subject: "org-1", credential: .apiKey, grant: .none,
                accessFingerprint: "fake…0003", reauthReason: reauth, revokedAt: revoked ? Self.now : nil,
                createdAt: Self.now, probe: ok.map { ProbeResult(at: Self.now, ok: $0, detail: "HTTP 500") })
        }
        let failing = Self.summary([key("k-ok", ok: true), key("k-down", ok: false), key("k-new", ok: nil)])
        #expect(failing.exitCode == 1)
        #expect(failing.probeFailing == ["k-down"])
        #expect(failing.line == "WARNING: 3 connections: 3 static; 1 static with a failed probe (k-down)")
        let others = Self.summary([
            key("k-refused", ok: false, reauth: "the provider refused the key"), key("k-gone", ok: false, revoked: true),
        ])
        #expect(others.probeFailing.isEmpty)
        #expect(others.exitCode == 2)
        // `list` marks it as the dashboard does.
        let snapshot = DashboardSnapshot(
            databasePath: "test", connections: [key("k-ok", ok: true), key("k-down", ok: false)])
        let lines = ConnectionReport.table(snapshot, connections: Array(snapshot.connections), at: Self.now)
            .split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.first { $0.hasPrefix("k-down") }?.contains(" static ✗ ") == true)
        #expect(lines.first { $0.hasPrefix("k-ok") }.map { $0.contains(" static ") && !$0.contains("✗") } == true)
    }

}
