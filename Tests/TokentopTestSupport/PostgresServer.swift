import Foundation

/// The PostgreSQL server of `scripts/postgres`, in which every test creates a database of its own.
///
/// `scripts/test` starts the server and exports `TOKENTOP_TEST_PG_URL` (the admin database) and
/// `TOKENTOP_TEST_PG_BIN` (the folder of `psql`). When they are missing, the first use runs
/// `scripts/postgres start` itself; that server stops once this test process is gone. Under `CI=true` a server
/// that cannot start makes every test that asks for a database fail; elsewhere such a test can skip with
/// `.enabled(if: PostgresServer.isAvailable)`, and the reason is printed on stderr once.
public enum PostgresServer {
    /// A fixture problem; the message names the cause and what to do about it.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong, with the tool's own words when a tool failed.
        public let description: String

        init(_ description: String) {
            self.description = description
        }
    }

    /// The admin database's URL and the tools to reach it.
    private struct Server: Sendable {
        let adminURL: String
        let psql: String
    }

    /// Found or started once per test process; a static `let` is initialised exactly once, even when tests that
    /// run in parallel ask at the same moment.
    private static let server: Result<Server, Failure> = {
        let result = Result { () throws(Failure) -> Server in try locate() }
        if case .failure(let failure) = result {
            FileHandle.standardError.write(Data("PostgresServer: no PostgreSQL server: \(failure)\n".utf8))
        }
        return result
    }()

    /// Whether tests that need PostgreSQL should run: always under `CI=true` (where a missing server must fail
    /// them, never skip them), otherwise whether a server answers.
    public static var isAvailable: Bool {
        if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
        if case .success = server { return true }
        return false
    }

    /// The admin database's URL, `postgres://tokentop@127.0.0.1:PORT/postgres`.
    /// - Throws: `Failure` when no server could be found or started.
    public static func adminURL() throws -> String {
        try server.get().adminURL
    }

    /// The `psql` the fixture runs, for a test that needs a session of its own (one that stays connected).
    /// - Throws: `Failure` when no server could be found or started.
    public static func psqlExecutable() throws -> String {
        try server.get().psql
    }

    /// Creates a new, empty database and returns its URL, `postgres://tokentop@127.0.0.1:PORT/tt_LABEL_RANDOM`.
    /// - Parameter label: a few words naming the test; anything but letters and digits becomes `_`.
    /// - Throws: `Failure` when no server could be started, or `CREATE DATABASE` failed.
    public static func freshDatabase(label: String) throws -> String {
        let server = try server.get()
        let name = databaseName(label: label)
        _ = try psql(server.adminURL, "CREATE DATABASE \(name)")
        return try url(server.adminURL, database: name)
    }

    /// Drops a database made by ``freshDatabase(label:)``, ending the sessions still connected to it.
    /// - Throws: `Failure` for a URL that names no database of this fixture (it never drops another), or when
    ///   `DROP DATABASE` failed.
    public static func dropDatabase(_ url: String) throws {
        guard let components = URLComponents(string: url) else {
            throw Failure("not a URL: \(url)")
        }
        let name = String(components.path.drop { $0 == "/" })
        guard name.hasPrefix("tt_"), name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
        else {
            throw Failure("\(url) names no database that PostgresServer.freshDatabase made (tt_…); not dropping it")
        }
        _ = try psql(try self.url(url, database: "postgres"), "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `sql` with `psql` on the database at `url` and returns what it prints: rows on lines of their own,
    /// columns separated by `|`, NULL as nothing, no header, no trailing newline. Several statements separated by
    /// `;` run in one transaction and only the last one's rows are printed (psql's `-c`).
    /// - Throws: `Failure` with psql's error message when a statement fails or the server cannot be reached.
    @discardableResult
    public static func psql(_ url: String, _ sql: String) throws -> String {
        let run = try ToolRun(
            try server.get().psql, ["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
            environment: ["PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "tokentop-tests"])
        guard run.status == 0 else {
            throw Failure("psql on \(url) failed (exit \(run.status)) for \(sql.prefix(200)): \(run.stderr)")
        }
        var text = run.stdout
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    // MARK: - Finding the server

    /// From the environment `scripts/test` exported, or from `scripts/postgres start`.
    private static func locate() throws(Failure) -> Server {
        var values = ProcessInfo.processInfo.environment
        if values["TOKENTOP_TEST_PG_URL"]?.isEmpty ?? true {
            values = try start()
        }
        guard let admin = values["TOKENTOP_TEST_PG_URL"], !admin.isEmpty else {
            throw Failure("scripts/postgres start printed no TOKENTOP_TEST_PG_URL")
        }
        let psql: String
        if let bin = values["TOKENTOP_TEST_PG_BIN"], !bin.isEmpty {
            psql = URL(fileURLWithPath: bin).appendingPathComponent("psql").path
        } else if let found = searchPath("psql") {
            psql = found
        } else {
            throw Failure("TOKENTOP_TEST_PG_URL is set but psql is neither in TOKENTOP_TEST_PG_BIN nor in PATH")
        }
        guard FileManager.default.isExecutableFile(atPath: psql) else {
            throw Failure("\(psql) is not an executable file (TOKENTOP_TEST_PG_BIN)")
        }
        return Server(adminURL: admin, psql: psql)
    }

    /// Runs `scripts/postgres start` and returns the `KEY=VALUE` lines it prints.
    private static func start() throws(Failure) -> [String: String] {
        let script = packageRoot.appendingPathComponent("scripts/postgres").path
        let run: ToolRun
        do {
            // The server stops once this process is gone, so a plain `swift test` leaves nothing running.
            run = try ToolRun(
                script, ["start"],
                environment: ["TOKENTOP_PG_WATCH_PID": String(ProcessInfo.processInfo.processIdentifier)])
        } catch {
            throw Failure("cannot run \(script): \(error)")
        }
        guard run.status == 0 else {
            throw Failure(
                "TOKENTOP_TEST_PG_URL is not set and \(script) start exited with \(run.status)"
                    + " (apt-get install postgresql, or run the suite through scripts/test):\n"
                    + run.stderr.suffix(3000))
        }
        var values: [String: String] = [:]
        for line in run.stdout.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    private static func searchPath(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// The package root, found from this file's place in `Tests/TokentopTestSupport/`.
    private static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    // MARK: - Names

    /// `tt_` + the label in lower case with anything but ASCII letters and digits as `_` + 8 random hex digits:
    /// a valid identifier without quoting, under PostgreSQL's 63 bytes, and unique per call.
    static func databaseName(label: String) -> String {
        let cleaned = String(
            label.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }.prefix(40))
        let random = UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8)
        return "tt_\(cleaned)_\(random)"
    }

    /// `url` with its path replaced by `/database`.
    private static func url(_ url: String, database: String) throws(Failure) -> String {
        guard var components = URLComponents(string: url) else {
            throw Failure("not a URL: \(url)")
        }
        components.path = "/" + database
        guard let result = components.string else {
            throw Failure("cannot build a URL for database \(database) from \(url)")
        }
        return result
    }
}
