import Foundation
import Synchronization
import Testing
import TokentopTestSupport

@testable import TokentopCore

@Suite struct PrometheusExpositionTests {
    @Test func connectionsCountersAndHistogramAreExposed() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let integration = Integration(
            id: "acme", provider: "acme \"crm\"", tokenURL: URL(string: "https://a.test/t")!, clientID: "c",
            clientAuth: .none)
        let healthy = Connection(
            id: "a", integrationID: "acme", scope: .user, subject: "a@example.com", credential: .oauth2,
            grant: .refreshToken, refreshFingerprint: "sha256:1", expiresAt: now.addingTimeInterval(3600),
            createdAt: now)
        var soon = healthy
        soon.id = "b"
        soon.expiresAt = now.addingTimeInterval(90.5)
        var key = healthy
        key.id = "k"
        key.scope = .org
        key.credential = .apiKey
        key.grant = .none
        key.expiresAt = nil
        let snapshot = DashboardSnapshot(
            databasePath: "t", connections: [healthy, soon, key], integrations: ["acme": integration])
        let metrics = RefreshMetrics()
        metrics.recordSuccess(provider: "acme \"crm\"", seconds: 0.07)
        metrics.recordSuccess(provider: "acme \"crm\"", seconds: 3)
        metrics.recordFailure(provider: "acme \"crm\"", error: "invalid_grant", seconds: 0.2)
        let text = PrometheusExposition.text(snapshot, metrics: metrics, at: now)
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("tokentop_connections{scope=\"user\",status=\"healthy\"} 2"))
        #expect(lines.contains("tokentop_connections{scope=\"org\",status=\"static\"} 1"))
        #expect(lines.contains("tokentop_connections{scope=\"bot\",status=\"failing\"} 0"))
        #expect(lines.contains("tokentop_next_expiry_seconds 90.5"))
        #expect(lines.contains("tokentop_refreshes_total{provider=\"acme \\\"crm\\\"\"} 2"))
        #expect(
            lines.contains(
                "tokentop_refresh_failures_total{provider=\"acme \\\"crm\\\"\",reason=\"invalid_grant\"} 1"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_bucket{le=\"0.1\"} 1"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_bucket{le=\"0.25\"} 2"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_bucket{le=\"5\"} 3"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_bucket{le=\"+Inf\"} 3"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_count 3"))
        #expect(lines.contains("tokentop_refresh_duration_seconds_sum 3.27"))
        #expect(text.hasSuffix("\n"))
    }

    /// A provider's `error` is its own text: the `reason` label keeps RFC 6749's codes and tokentop's, and counts
    /// anything else as `other`, so a hostile provider cannot make up label values.
    @Test func aReasonIsAKnownCodeOrOther() throws {
        let metrics = RefreshMetrics()
        let kept = ["invalid_grant", "temporarily_unavailable", "invalid_target", "network_error", "no_refresh_token"]
        for code in kept { metrics.recordFailure(provider: "acme", error: code, seconds: 0.1) }
        let odd = ["x\"} 1\nevil 2", "Invalid_Grant", "", "error-0001", String(repeating: "a", count: 200)]
        let hostile = odd + (0..<300).map { "made_up_\($0)" }
        for code in hostile { metrics.recordFailure(provider: "acme", error: code, seconds: 0.1) }
        let failures = try #require(metrics.snapshot.failures["acme"])
        #expect(failures == Dictionary(uniqueKeysWithValues: kept.map { ($0, 1) }).merging(["other": 305]) { $1 })
        #expect(RefreshMetrics.reasons.isSuperset(of: kept) && !RefreshMetrics.reasons.contains("other"))

        let text = PrometheusExposition.text(
            DashboardSnapshot(databasePath: "t", connections: [], integrations: [:]), metrics: metrics,
            at: Date(timeIntervalSince1970: 1_800_000_000))
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("tokentop_refresh_failures_total{") }
        #expect(lines.count == kept.count + 1)
        #expect(lines.contains("tokentop_refresh_failures_total{provider=\"acme\",reason=\"other\"} 305"))
    }

    /// Provider names come from the operator's files, so the cap is a safety net: past it, a new provider's counts
    /// go to the series without a provider label, and the family's sum still counts every refresh.
    @Test func eachFamilyHoldsAtMostItsCapOfSeries() throws {
        let metrics = RefreshMetrics()
        let providers = (0..<(RefreshMetrics.maximumSeries + 100)).map { "provider-\($0)" }
        for provider in providers {
            metrics.recordSuccess(provider: provider, seconds: 0.1)
            metrics.recordFailure(provider: provider, error: "network_error", seconds: 0.1)
        }
        // A pair that already has its series keeps counting there.
        metrics.recordFailure(provider: "provider-0", error: "network_error", seconds: 0.1)
        metrics.recordSuccess(provider: "provider-0", seconds: 0.1)

        let text = PrometheusExposition.text(
            DashboardSnapshot(databasePath: "t", connections: [], integrations: [:]), metrics: metrics,
            at: Date(timeIntervalSince1970: 1_800_000_000))
        let lines = text.split(separator: "\n").map(String.init)
        for family in ["tokentop_refreshes_total", "tokentop_refresh_failures_total"] {
            let samples = lines.filter { $0.hasPrefix(family + "{") || $0.hasPrefix(family + " ") }
            #expect(samples.count == RefreshMetrics.maximumSeries + 1, "\(family)")
            #expect(samples.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +) == 1_101)
            #expect(samples.contains { $0.hasPrefix(family + "{provider=\"provider-0\"") && $0.hasSuffix(" 2") })
            #expect(!samples.contains { $0.contains("provider-1000") || $0.contains("provider-1099") })
        }
        #expect(lines.contains("tokentop_refreshes_total 100"))
        #expect(lines.contains("tokentop_refresh_failures_total{reason=\"network_error\"} 100"))
    }

    /// docs/configuration.md lists every value the `reason` label takes.
    @Test func theDocumentedReasonsAreTheKeptOnes() throws {
        let docs = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "A failure's `reason`"))
        let end = try #require(text.range(of: "\n\n", range: start.upperBound..<text.endIndex))
        let quoted = text[start.lowerBound..<end.lowerBound].split(separator: "`", omittingEmptySubsequences: false)
            .enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(Set(quoted).subtracting(["reason", "other", "show", "--on-event"]) == RefreshMetrics.reasons)
    }

    @Test func theFileIsReplacedWholeWithItsMode() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("tokentop.prom").path
        try AtomicFile.write("a 1\n", to: path)
        try AtomicFile.write("a 2\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 2\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["tokentop.prom"])
        #expect(throws: AtomicFileError.self) { try AtomicFile.write("x", to: directory.path + "/no/such/dir/f") }
    }

    /// A write killed before its rename left its temporary file (a whole export, sealed): the next write of the
    /// same file removes those of processes that are gone, and leaves a live process's.
    @Test func aKilledWritesTemporaryFileIsRemovedByTheNext() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("export.json").path
        let gone = Child()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = directory.appendingPathComponent(".export.json.\(gone.processIdentifier).tmp").path
        let live = directory.appendingPathComponent(".export.json.1.tmp").path
        for file in [stale, live] { _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8)) }
        try AtomicFile.write("{}", to: path)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live), "pid 1 is alive")
    }
}

@Suite struct HookRunnerTests {
    static func event(_ kind: HookEvent.Kind = .refreshFailed) -> HookEvent {
        let entry = HistoryEntry(
            at: Date(timeIntervalSince1970: 1_800_000_000), connectionID: "acme-alice", kind: .refreshFailed,
            message: "refresh failed: server_error (HTTP 503)",
            error: ProviderError(kind: .transient, error: "server_error", status: 503))
        return HookEvent(kind: kind, entry: entry, connection: nil, provider: nil, status: nil)
    }

    @Test func theEventArrivesAsJSONOnStandardInput() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("events.jsonl").path
        let logged = LogRecorder()
        let runner = HookRunner(command: "cat >> '\(out)'", timeout: 5, log: logged.record)
        runner.submit(Self.event())
        runner.submit(Self.event(.recovered))
        runner.drain()
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["event"] as? String == "refresh_failed")
        #expect(first["connection_id"] as? String == "acme-alice")
        #expect(first["at"] as? String == "2027-01-15T08:00:00Z")
        #expect((first["error"] as? [String: Any])?["status"] as? Int == 503)
        #expect(lines[1].contains("\"event\":\"recovered\""))
        #expect(logged.lines.isEmpty)
    }

    /// The command holds nothing of this process but its three streams: a file open here without close-on-exec
    /// (as libcurl's wake-up sockets are in a daemon) is not open in it.
    @Test func theCommandHoldsNothingElseOfThisProcess() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("fds.txt").path
        let marker = directory.appendingPathComponent("marker-open-here").path
        let descriptor = open(marker, O_RDWR | O_CREAT, 0o600)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        let logged = LogRecorder()
        // What each of the shell's descriptors names, read from outside it: the shell's own pipes come and go
        // (a pipeline's, for a moment), but the marker file is either inherited or not.
        let list = "for fd in /proc/$$/fd/*; do readlink \"$fd\" || true; done > '\(out)'"
        let runner = HookRunner(command: list, timeout: 5, log: logged.record)
        runner.submit(Self.event())
        runner.drain()
        let named = try String(contentsOfFile: out, encoding: .utf8)
        #expect(named.contains("/dev/null"), "\(named)")
        #expect(!named.contains("marker-open-here"), "the marker (descriptor \(descriptor)) is open in it:\n\(named)")
        #expect(logged.lines.isEmpty)
    }

    /// A stopping process gives its commands a grace: the one running then is killed and the queued ones are
    /// dropped, said once. Each queued command ran to its own timeout before, and a backlog of slow ones held a
    /// daemon's stop (and a dashboard's quit) for minutes.
    @Test func finishingKillsTheRunningCommandAndDropsTheQueuedOnes() {
        let logged = LogRecorder()
        let runner = HookRunner(command: "sleep 30", timeout: 20, log: logged.record)
        for _ in 0..<5 { runner.submit(Self.event()) }
        let started = Date()
        runner.finish(within: 0.5)
        let took = Date().timeIntervalSince(started)
        #expect(took >= 0.4 && took < 5, "\(took) s")
        #expect(
            logged.lines == [
                "stopping: event command killed event=refresh_failed connection.id=acme-alice",
                "stopping: event commands not run events=4",
            ])
    }

    @Test func aFailingCommandAndASlowOneAreLoggedNotFatal() throws {
        let logged = LogRecorder()
        let failing = HookRunner(command: "exit 3", timeout: 5, log: logged.record)
        failing.submit(Self.event())
        failing.drain()
        #expect(logged.lines == ["event command failed event=refresh_failed connection.id=acme-alice exit.status=3"])

        let slow = HookRunner(command: "sleep 30; echo never", timeout: 0.3, log: logged.record)
        let started = Date()
        slow.submit(Self.event())
        slow.drain()
        #expect(Date().timeIntervalSince(started) < 10, "the timeout did not kill the command")
        #expect(logged.lines.last == "event command timed out and was killed event=refresh_failed connection.id=acme-alice timeout.seconds=0.3")
    }

    @Test func aCommandThatIgnoresItsInputOrCannotRunIsReported() throws {
        let logged = LogRecorder()
        HookRunner(command: "true", timeout: 5, log: logged.record).submit(Self.event())
        let missing = HookRunner(command: "/no/such/program", timeout: 5, log: logged.record)
        missing.submit(Self.event())
        missing.drain()
        #expect(logged.lines == ["event command failed event=refresh_failed connection.id=acme-alice exit.status=127"])
    }

    @Test func recoveredFollowsTroubleAndOtherProcessesWorkIsSkipped() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let snapshot = DashboardSnapshot(databasePath: "t")
        var filter = HookEventFilter(snapshot)
        func entry(_ kind: HistoryEntry.Kind, other: Bool = false) -> HistoryEntry {
            HistoryEntry(at: now, connectionID: "c", kind: kind, message: "m", byAnotherProcess: other)
        }
        func kind(_ entry: HistoryEntry) -> HookEvent.Kind? {
            filter.event(for: entry, in: snapshot, at: now, lookup: { _ in nil })?.kind
        }
        #expect(kind(entry(.refreshed)) == nil)
        #expect(kind(entry(.refreshFailed)) == .refreshFailed)
        #expect(kind(entry(.refreshed)) == .recovered)
        #expect(kind(entry(.refreshed)) == nil)
        #expect(kind(entry(.needsReauth, other: true)) == nil)
        #expect(kind(entry(.revoked)) == .revoked)
        #expect(kind(entry(.imported)) == nil)
    }
}

/// Collects a hook runner's log lines as `message key=value …`, fields in the order they were given.
final class LogRecorder: Sendable {
    private let store = Mutex<[String]>([])

    var lines: [String] { store.withLock { $0 } }

    var record: @Sendable (String, [String: String]) -> Void {
        { [self] message, fields in append(message, fields) }
    }

    private func append(_ message: String, _ fields: [String: String]) {
        let order = ["event", "connection.id", "exit.status", "signal", "timeout.seconds", "reason", "events"]
        let parts = order.compactMap { key in fields[key].map { "\(key)=\($0)" } }
        store.withLock { $0.append(([message] + parts).joined(separator: " ")) }
    }
}
