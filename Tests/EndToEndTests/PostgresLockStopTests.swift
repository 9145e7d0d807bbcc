import Foundation
import Testing
import TokentopTestSupport

/// Another session that keeps tokentop's tables locked on a PostgreSQL store holds no statement of tokentop's for
/// longer than its lock timeout: the daemon and the dashboard stop within the bound the README promises (30 s for
/// an answer, a minute more to store new tokens), and the dashboard says what its stop waits for.
@Suite(
    .serialized,
    .enabled(if: PostgresServer.isAvailable, "needs a PostgreSQL server (scripts/postgres start)"))
struct PostgresLockStopTests {
    /// How long the other session holds its locks: far longer than any stop may take.
    static let lockSeconds = 150
    /// The longest a stop may take under the lock in these tests, with nothing in flight.
    static let stopBound = 45.0

    @Test func aDaemonStopsWithinTheBoundWhileAnotherSessionHoldsItsTables() async throws {
        let (url, environment, sandbox) = try Self.store(label: "pg lock daemon")
        defer {
            try? PostgresServer.dropDatabase(url)
            sandbox.remove()
        }
        let (daemon, log) = try Binary.startLoggingDaemon(environment: environment)
        defer { if daemon.isRunning { daemon.signal(SIGKILL) } }
        _ = try await log.waitFor("daemon started", seconds: 30)
        let holder = try await LockHolder(url)
        defer { holder.release() }
        // The daemon's statements meet the lock and give up on it: it says so, and goes on.
        try await log.wait(seconds: 30) { $0.contains("store_unavailable") }
        #expect(log.text.contains("stayed locked by another process for more than 5 seconds"), "\(log.text)")
        let signalled = Date()
        daemon.terminate()
        let stopped = await Self.exits(daemon, within: Self.stopBound)
        let took = Date().timeIntervalSince(signalled)
        #expect(stopped, "the daemon still ran \(took) s after SIGTERM, under the lock:\n\(log.text)")
        holder.release()
        #expect(await daemon.exited() == 0)
        try await log.waitForEnd()
        #expect(log.text.contains("\"msg\":\"daemon stopped\""), "\(log.text)")
    }

    @Test func aDashboardSaysWhatItsStopWaitsForAndEndsWithinTheBound() async throws {
        let (url, environment, sandbox) = try Self.store(label: "pg lock dashboard")
        defer {
            try? PostgresServer.dropDatabase(url)
            sandbox.remove()
        }
        let tmux = try Tmux(width: 200, height: 50, environment: environment, directory: sandbox.root)
        try tmux.send("\(Binary.path); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 30) { $0.contains("acme-alice") }
        try #require(screen.contains("acme-alice"), "no dashboard:\n\(screen)")
        let holder = try await LockHolder(url)
        defer { holder.release() }
        // The notice may be cut at the screen's edge; the stop's own line below says it whole.
        screen = try await tmux.wait(timeout: 30) { $0.contains("! database problem: ") }
        #expect(screen.contains("! database problem: "), "no notice of the lock:\n\(screen)")
        let notice = "stayed locked by another process for more than 5 seconds"
        let quit = Date()
        try tmux.send("q")
        let waiting = Self.squeezed("tokentop: stopping: waiting for \(url) to take this dashboard's last writes")
        screen = try await tmux.wait(timeout: 10) { Self.squeezed($0).contains(waiting) }
        #expect(Self.squeezed(screen).contains(waiting), "the stop said nothing:\n\(screen)")
        #expect(Self.squeezed(screen).contains(Self.squeezed(notice)), "not why:\n\(screen)")
        screen = try await tmux.wait(timeout: Self.stopBound) { $0.contains("exit=") }
        let took = Date().timeIntervalSince(quit)
        #expect(screen.contains("exit=0"), "the dashboard still ran \(took) s after q, under the lock:\n\(screen)")
    }

    /// A fresh database holding ``CommandLineTests/importFile``, and an environment whose commands use it.
    static func store(label: String) throws -> (String, [String: String], Sandbox) {
        let url = try PostgresServer.freshDatabase(label: label)
        let sandbox = try Sandbox()
        var environment = sandbox.environment
        environment["TOKENTOP_STORE"] = url
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let imported = try Binary.run(["import", file], environment: environment)
        guard imported.status == 0 else { throw OAuthServerFixture.Failure("import failed: \(imported.stderr)") }
        return (url, environment, sandbox)
    }

    /// `text` without spaces and line breaks: the terminal wraps a long line where it likes.
    @Sendable static func squeezed(_ text: String) -> String { text.filter { $0 != " " && $0 != "\n" } }

    /// Whether `process` ends within `seconds`, polled without holding a thread of the pool.
    static func exits(_ process: Child, within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { try? await Task.sleep(for: .milliseconds(100)) }
        return !process.isRunning
    }

    /// A psql session that locks the tables a refresher writes (connections, history, processes) and sleeps with
    /// them held, as an operator's long migration or a stuck transaction would.
    final class LockHolder {
        let url: String
        let process = Child()
        static let name = "tokentop-lock-holder"

        /// Starts the session and returns once the server shows its locks granted.
        init(_ url: String) async throws {
            self.url = url
            process.executableURL = URL(fileURLWithPath: try PostgresServer.psqlExecutable())
            let tables = ["connections", "history", "processes"]
            let locks = tables.map { "LOCK TABLE \($0) IN ACCESS EXCLUSIVE MODE;" }.joined(separator: " ")
            process.arguments = [
                "-X", "-q", "-w", "-d", url, "-c",
                "BEGIN; \(locks) SELECT pg_sleep(\(PostgresLockStopTests.lockSeconds)); COMMIT;",
            ]
            process.environment = ProcessInfo.processInfo.environment.merging(["PGAPPNAME": Self.name]) { $1 }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, process.isRunning {
                let granted = try PostgresServer.psql(
                    url,
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.granted AND "
                        + "l.mode = 'AccessExclusiveLock' AND c.relname IN ('connections', 'history', 'processes')")
                if granted == "3" { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            release()
            throw OAuthServerFixture.Failure("the lock holder never held its locks on \(url)")
        }

        /// Ends the session (and its locks) on the server, then the psql process.
        func release() {
            _ = try? PostgresServer.psql(
                url,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(Self.name)' "
                    + "AND datname = current_database()")
            if process.isRunning { process.signal(SIGKILL) }
            process.waitUntilExit()
        }
    }
}
