import Foundation
import Testing

/// The daemon as operators run it: a log file logrotate may move, a metrics file for node_exporter's textfile
/// collector, an event command, and SIGHUP to reload the configuration.
@Suite(.serialized)
struct DaemonOperationsTests {
    /// Python with prometheus_client, from the interoperability venv that the OAuth server fixture builds.
    static func parseMetrics(_ path: String) async throws -> [String: Any] {
        _ = try await OAuthServerFixture.shared()
        let root = OAuthServerFixture.packageRoot
        let python = root.appendingPathComponent(".build/interop-venv/bin/python").path
        let script = root.appendingPathComponent("Tests/Interop/metrics/parse.py").path
        let run = try Binary.run(executable: python, [script, path])
        guard run.status == 0 else { throw OAuthServerFixture.Failure("prometheus_client refused \(path): \(run.stderr)") }
        return try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any])
    }

    /// Parses `path` with prometheus_client, checks the three families' types, one static org connection and the
    /// `network_error` failure the fixtures cause, and returns the samples for further checks.
    static func expectMetricsParse(_ path: String) async throws -> [[Any]] {
        let parsed = try await parseMetrics(path)
        let families = try #require(parsed["families"] as? [String: String])
        #expect(families["tokentop_connections"] == "gauge")
        #expect(families["tokentop_refresh_failures"] == "counter")
        #expect(families["tokentop_refresh_duration_seconds"] == "histogram")
        let samples = try #require(parsed["samples"] as? [[Any]])
        func sample(_ name: String, _ labels: [String: String]) -> Double? {
            samples.first { ($0[0] as? String) == name && ($0[1] as? [String: String]) == labels }?[2] as? Double
        }
        #expect(sample("tokentop_connections", ["scope": "org", "status": "static"]) == 1)
        #expect(sample("tokentop_refresh_failures_total", ["provider": "acme", "reason": "network_error"]) ?? 0 >= 1)
        #expect(sample("tokentop_refresh_duration_seconds_count", [:]) ?? 0 >= 1)
        return samples
    }

    /// Polls `condition` until it holds; throws, naming `what`, once `seconds` pass. Sleeps with `Task.sleep`, so
    /// other tests can use the thread meanwhile.
    static func waitFor(_ seconds: Double, _ what: String, until condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while try !condition() {
            guard Date() < deadline else { throw OAuthServerFixture.Failure("gave up waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    @Test func logMetricsEventsAndReloadOnSIGHUP() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let log = sandbox.root.appendingPathComponent("daemon.log").path
        let metrics = sandbox.root.appendingPathComponent("tokentop.prom").path
        let reloadedMetrics = sandbox.root.appendingPathComponent("reloaded.prom").path
        let events = sandbox.root.appendingPathComponent("events.jsonl").path
        let config = try sandbox.write("config.json", "{\"on_event_timeout_seconds\": 5}")

        let daemon = try Binary.start(
            [
                "daemon", "--config", config, "--log", log, "--metrics", metrics, "--on-event", "cat >> '\(events)'",
            ], environment: sandbox.environment)
        defer { daemon.kill() }

        // The expired token's refresh fails against a dead endpoint: the event command hears of it.
        try await Self.waitFor(20, "the event command's output") { Self.read(events).contains("refresh_failed") }
        let event = try #require(
            try JSONSerialization.jsonObject(
                with: Data(Self.read(events).split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(event["event"] as? String == "refresh_failed")
        #expect(event["connection_id"] as? String == "acme-alice")
        #expect((event["connection"] as? [String: Any])?["provider"] as? String == "acme")
        #expect((event["error"] as? [String: Any])?["error"] as? String == "network_error")

        // The metrics file parses with Prometheus's own parser and counts that failure.
        try await Self.waitFor(15, "a metrics file counting the failure") {
            Self.read(metrics).contains("tokentop_refresh_failures_total{provider=\"acme\",reason=\"network_error\"}")
        }
        _ = try await Self.expectMetricsParse(metrics)

        // logrotate moves the log away; SIGHUP opens a fresh one and takes the new configuration.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try Data(
            "{\"metrics_file\": \"\(reloadedMetrics)\", \"on_event\": \"exit 3\", \"lead_seconds\": 120}".utf8
        ).write(to: URL(fileURLWithPath: config))
        // The flags still win over the file: pass none for the settings the reload changes.
        daemon.signal(SIGHUP)
        try await Self.waitFor(10, "the reload in the new log") { Self.read(log).contains("configuration reloaded") }
        #expect(Self.read(log + ".1").contains("\"msg\":\"daemon started\""))

        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        let all = [Self.read(log), Self.read(log + ".1"), Self.read(metrics), Self.read(events)].joined()
        for secret in ["fake-refresh-token-0001", "fake-access-token-0001", "fake-client-secret-0001", "fake-api-key"] {
            #expect(!all.contains(secret), "\(secret) leaked")
        }
        let reload = try #require(
            Self.read(log).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { $0["msg"] as? String == "configuration reloaded" })
        #expect(reload["config.lead_seconds"] as? String == "120")
        // The flags given at start-up still win over the file on reload.
        #expect(reload["config.metrics_file"] as? String == metrics)
        #expect(reload["config.on_event"] as? String == "set", "the command itself is not logged")
    }

    /// `--log -` is standard error, as without the flag, and writes no file named "-".
    @Test func logDashIsStandardError() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let errors = sandbox.root.appendingPathComponent("stderr.txt").path
        let daemon = try Binary.start(
            ["daemon", "--log", "-"], environment: sandbox.environment, directory: sandbox.root, stderr: errors)
        defer { daemon.kill() }
        try await Self.waitFor(20, "the daemon's first log line on standard error") {
            Self.read(errors).contains("\"daemon started\"")
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        #expect(!FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("-").path))
    }

    @Test func aSlowAndAFailingEventCommandAreLoggedAndNeverStopTheDaemon() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let log = sandbox.root.appendingPathComponent("slow.log").path
        let daemon = try Binary.start(
            ["daemon", "--log", log, "--on-event", "sleep 30", "--on-event-timeout", "1"],
            environment: sandbox.environment)
        defer { daemon.kill() }
        try await Self.waitFor(20, "the timeout in the log") { Self.read(log).contains("event command timed out") }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)

        let failing = try Binary.start(
            ["daemon", "--log", log, "--on-event", "echo nope >&2; exit 7"], environment: sandbox.environment)
        defer { failing.kill() }
        try await Self.waitFor(20, "the failure in the log") { Self.read(log).contains("\"exit.status\":\"7\"") }
        failing.signal(SIGTERM)
        #expect(await failing.wait() == 0)
        #expect(Self.read(log).contains("\"msg\":\"event command failed\""))
    }
}

/// A mistyped `--metrics` never overwrites a file that is not a metrics file of ours.
struct MetricsPathTests {
    @Test func theDatabaseTheKeyAndAMissingFolderAreRefusedAtStart() throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let key = sandbox.keyFile
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: key))
        for target in [sandbox.database, key] {
            let run = try Binary.run(["daemon", "--metrics", target], environment: sandbox.environment)
            #expect(run.status == 1)
            #expect(
                run.stderr == "tokentop: refusing to replace \(target): it exists and is not a metrics file tokentop "
                    + "wrote; name a new file\n")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBefore)
        #expect(try Binary.run(["list"], environment: sandbox.environment).status == 0)
        let missing = sandbox.root.appendingPathComponent("no/such/folder/m.prom").path
        let run = try Binary.run(["daemon", "--metrics", missing], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains("its folder \(sandbox.root.path)/no/such/folder does not exist"), "\(run.stderr)")
    }

    @Test func theLogFileIsRefusedAsTheMetricsFileAtStart() throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let both = sandbox.root.appendingPathComponent("both.out").path
        let run = try Binary.run(["daemon", "--metrics", both, "--log", both], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: refusing to replace \(both): it is the log file as well (--log, log_file); name a "
                + "new file\n")
        #expect(!FileManager.default.fileExists(atPath: both))
    }
}

/// `--log` and `log_file` append to a file: never to the key file or the database, by any of their names.
@Suite(.serialized)
struct LogPathTests {
    static func refusal(_ path: String, _ what: String) -> String {
        "refusing to write the log into \(path): it is \(what); name a new file"
    }

    static let keyFile = "the key file, without which no sealed secret opens"

    @Test func theKeyFileAndTheDatabaseAreRefusedAtStartByAnyName() throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let key = sandbox.keyFile
        let link = sandbox.root.appendingPathComponent("key-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: key)
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: key))
        let databaseBefore = try Data(contentsOf: URL(fileURLWithPath: sandbox.database))
        let dotted = sandbox.root.appendingPathComponent("config/tokentop/../tokentop/key").path
        let cases = [
            (key, Self.keyFile), (link, Self.keyFile), (dotted, Self.keyFile), (sandbox.database, "the database"),
            (sandbox.database + "-wal", "a file of the database"), (sandbox.database + "-shm", "a file of the database"),
        ]
        for (target, what) in cases {
            let run = try Binary.run(["daemon", "--log", target], environment: sandbox.environment)
            #expect(run.status == 1, "\(target)")
            #expect(run.stderr == "tokentop: \(Self.refusal(target, what))\n")
        }
        let config = try sandbox.write("config.json", "{\"log_file\": \"\(key)\"}")
        let run = try Binary.run(["daemon", "--config", config], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr == "tokentop: \(Self.refusal(key, Self.keyFile))\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBefore)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.database)) == databaseBefore)
        #expect(try Binary.run(["list"], environment: sandbox.environment).status == 0)
    }

    @Test func aFileThatIsNotOurLogIsRefusedAndOurOwnLogIsAppendedTo() async throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        // The config file naming itself as the log, and an import file a typo named.
        let config = sandbox.root.appendingPathComponent("self.json").path
        try Data("{\"log_file\": \"\(config)\"}".utf8).write(to: URL(fileURLWithPath: config))
        let other = try sandbox.write("import.json", "{\"integrations\": [], \"connections\": []}\n")
        let ours = #"{"msg":"daemon started","time":"2026-12-05T00:00:00Z"}"#
        let lookalike = try sandbox.write("lookalike.log", ours + "\nsomething else entirely\n")
        let cases = [(["--config", config], config), (["--log", other], other), (["--log", lookalike], lookalike)]
        for (arguments, target) in cases {
            let before = try Data(contentsOf: URL(fileURLWithPath: target))
            let run = try Binary.run(["daemon"] + arguments, environment: sandbox.environment)
            #expect(run.status == 1, "\(target)")
            #expect(
                run.stderr == "tokentop: refusing to write the log into \(target): it exists and is not a log of "
                    + "tokentop's (its lines are not all tokentop's JSON); name a new file\n")
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)
        }
        // A daemon started again on its own log appends to it, after a last line a killed daemon cut short.
        let log = try sandbox.write("daemon.log", ours + "\n" + #"{"msg":"refre"#)
        for round in 1...2 {
            let daemon = try Binary.start(["daemon", "--log", log], environment: sandbox.environment)
            defer { daemon.kill() }
            try await DaemonOperationsTests.waitFor(20, "start \(round) in the log") {
                // The cut-short file's first line is a start too.
                DaemonOperationsTests.read(log).components(separatedBy: "\"msg\":\"daemon started\"").count == round + 2
            }
            daemon.signal(SIGTERM)
            #expect(await daemon.wait() == 0)
        }
        #expect(DaemonOperationsTests.read(log).components(separatedBy: "\"msg\":\"daemon stopped\"").count == 3)
        let lines = DaemonOperationsTests.read(log).split(separator: "\n")
        #expect(lines[1] == #"{"msg":"refre"#, "the cut line was glued to the next")
        #expect(lines.dropFirst(2).allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }

    /// The log replaced by another program's file, then SIGHUP: the file is refused as at start-up and left as it
    /// is; the daemon writes on into the log it had open, which says why.
    @Test func aLogReplacedByAnotherFileIsRefusedOnReopenAndLeftAlone() async throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let log = sandbox.root.appendingPathComponent("lr2.log").path
        let daemon = try Binary.start(["daemon", "--log", log], environment: sandbox.environment)
        defer { daemon.kill() }
        try await DaemonOperationsTests.waitFor(10, "the daemon's start") {
            DaemonOperationsTests.read(log).contains("daemon started")
        }
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        let foreign = "not a log of tokentop's\n"
        try Data(foreign.utf8).write(to: URL(fileURLWithPath: log))
        daemon.signal(SIGHUP)
        try await DaemonOperationsTests.waitFor(10, "the refusal in the log it had open") {
            DaemonOperationsTests.read(log + ".1").contains("log file not reopened")
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        #expect(DaemonOperationsTests.read(log) == foreign)
        let kept = DaemonOperationsTests.read(log + ".1").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let refusal = try #require(kept.first { $0["msg"] as? String == "log file not reopened" })
        #expect(
            refusal["reason"] as? String == "refusing to write the log into \(log): it exists and is not a log of "
                + "tokentop's (its lines are not all tokentop's JSON); name a new file")
        #expect(kept.last?["msg"] as? String == "daemon stopped")
    }

    @Test func aReloadThatNamesTheKeyFileKeepsTheLogAndSaysWhy() async throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let key = sandbox.keyFile
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: key))
        let (daemon, log, config) = try await sandbox.startDaemonLoggingByConfig()
        defer { daemon.kill() }
        try Data("{\"log_file\": \"\(key)\"}".utf8).write(to: URL(fileURLWithPath: config))
        daemon.signal(SIGHUP)
        try await DaemonOperationsTests.waitFor(10, "the refusal in the log") {
            DaemonOperationsTests.read(log).contains("configuration not reloaded")
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        let refusal = try #require(
            DaemonOperationsTests.read(log).split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.first { ($0["msg"] as? String)?.hasPrefix("configuration not reloaded") == true })
        #expect(refusal["reason"] as? String == Self.refusal(key, Self.keyFile))
        #expect(DaemonOperationsTests.read(log).contains("\"msg\":\"daemon stopped\""))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBefore)
    }
}

/// What happens while the daemon stops, and a reload that fails, still reach the log and the event command.
@Suite(.serialized)
struct DaemonShutdownLogTests {
    static func lines(_ path: String) -> [[String: Any]] {
        DaemonOperationsTests.read(path).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func aRefreshThatEndsDuringShutdownIsLoggedAndHandedToTheCommandBeforeTheLastLine() async throws {
        let server = try ProbeServer(acceptedKey: "fake-api-key-0002", acceptedBasic: "fake:fake")
        defer { server.stop() }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // The token endpoint reads the request and answers only when the server stops: a refresh in flight.
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(of: CommandLineTests.farFuture, with: "2020-01-01T00:00:00Z")
                .replacingOccurrences(of: "http://127.0.0.1:9/token", with: server.base + "/slow"))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let log = sandbox.root.appendingPathComponent("stop.log").path
        let events = sandbox.root.appendingPathComponent("events.jsonl").path
        let daemon = try Binary.start(
            ["daemon", "--log", log, "--on-event", "cat >> '\(events)'"], environment: sandbox.environment)
        defer { daemon.kill() }
        // Signalled the moment the request is held, from the server's thread: a test task that a loaded machine kept
        // waiting could signal only after the daemon's own time limit had ended the refresh.
        let pid = daemon.process.processIdentifier
        server.whenHolding { _ = kill(pid, SIGTERM) }
        try await DaemonOperationsTests.waitFor(60, "the refresh in flight") { server.holding > 0 }
        try await DaemonOperationsTests.waitFor(60, "the daemon stopping") {
            DaemonOperationsTests.read(log).contains("\"msg\":\"stopping\"")
        }
        // The refresh fails now, while the daemon waits for it.
        server.stop()
        #expect(await daemon.wait() == 0)
        let messages = Self.lines(log).compactMap { $0["msg"] as? String }
        let stopping = try #require(messages.firstIndex(of: "stopping"), "\(messages)")
        let stopped = try #require(messages.firstIndex(of: "daemon stopped"), "\(messages)")
        // The refresh that was in flight at the signal failed between the two.
        #expect(messages[stopping..<stopped].contains("refresh_failed"), "\(messages)")
        #expect(DaemonOperationsTests.read(events).contains("\"event\":\"refresh_failed\""))
    }

    @Test func aBrokenConfigurationOnReloadIsLoggedInTheReopenedLog() async throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let (daemon, log, config) = try await sandbox.startDaemonLoggingByConfig()
        defer { daemon.kill() }
        // logrotate moves the log, and the file was broken meanwhile: the reload's line goes to the new log.
        try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
        try Data("{\"log_file\": ".utf8).write(to: URL(fileURLWithPath: config))
        daemon.signal(SIGHUP)
        try await DaemonOperationsTests.waitFor(10, "the failed reload in the new log") {
            DaemonOperationsTests.read(log).contains("configuration not reloaded")
        }
        #expect(!DaemonOperationsTests.read(log + ".1").contains("configuration not reloaded"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        #expect(Self.lines(log).last?["msg"] as? String == "daemon stopped")
    }
}

extension Sandbox {
    /// The key file that XDG_CONFIG_HOME puts under the sandbox.
    var keyFile: String { root.appendingPathComponent("config/tokentop/key").path }

    /// Starts a daemon whose configuration file names its log file, and waits for its start in that log.
    func startDaemonLoggingByConfig() async throws -> (daemon: Binary.Background, log: String, config: String) {
        let log = root.appendingPathComponent("daemon.log").path
        let config = try write("config.json", "{\"log_file\": \"\(log)\"}")
        let daemon = try Binary.start(["daemon", "--config", config], environment: environment)
        try await DaemonOperationsTests.waitFor(10, "the daemon's start") {
            DaemonOperationsTests.read(log).contains("daemon started")
        }
        return (daemon, log, config)
    }

    /// A sandbox whose store holds the expired fixture connection (and so a key file).
    static func holdingAnExpiredToken() throws -> Sandbox {
        let sandbox = try Sandbox()
        try CommandLineTests.importExpired(into: sandbox)
        return sandbox
    }
}
