import Foundation

/// The PostgreSQL server the benchmark's shared-store figures run on: the one `TOKENTOP_TEST_PG_URL` names, or one
/// that `scripts/postgres start` starts for this run (it stops once this process is gone).
///
/// Each measured run gets a database of its own (`tt_bench_…`), dropped afterwards.
struct BenchPostgres {
    /// The admin database, `postgres://tokentop@127.0.0.1:PORT/postgres`.
    let adminURL: String
    private let psql: String

    /// Finds the server named by the environment, or starts one with the repository's `scripts/postgres`.
    static func locate() throws -> BenchPostgres {
        var values = ProcessInfo.processInfo.environment
        if values["TOKENTOP_TEST_PG_URL"]?.isEmpty ?? true {
            values = try start()
        }
        guard let admin = values["TOKENTOP_TEST_PG_URL"], !admin.isEmpty else {
            throw BenchError("scripts/postgres start printed no TOKENTOP_TEST_PG_URL")
        }
        let psql: String
        if let bin = values["TOKENTOP_TEST_PG_BIN"], !bin.isEmpty {
            psql = bin + "/psql"
        } else if let found = Subprocess.locate("psql") {
            psql = found
        } else {
            throw BenchError("psql is neither in TOKENTOP_TEST_PG_BIN nor in PATH (apt-get install postgresql)")
        }
        guard access(psql, X_OK) == 0 else { throw BenchError("\(psql) is not an executable file") }
        return BenchPostgres(adminURL: admin, psql: psql)
    }

    /// Creates an empty database and returns its URL.
    func createDatabase(label: String) throws -> String {
        let random = UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8)
        let name = "tt_bench_\(label)_\(random)"
        try run(adminURL, "CREATE DATABASE \(name)")
        return try Self.url(adminURL, database: name)
    }

    /// Drops a database made by ``createDatabase(label:)``, ending the sessions still connected to it.
    func dropDatabase(_ url: String) throws {
        let name = URLComponents(string: url).map { String($0.path.drop { $0 == "/" }) } ?? ""
        guard name.hasPrefix("tt_bench_") else { throw BenchError("\(url) is no database of the benchmark") }
        try run(adminURL, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs `sql` with psql on `url`; returns the rows, unaligned, without a header.
    @discardableResult
    func run(_ url: String, _ sql: String) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        environment["PGCONNECT_TIMEOUT"] = "10"
        let child = try Subprocess(
            psql, ["-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
            environment: environment, capture: true)
        let (output, status) = child.finish()
        guard status == 0 else { throw BenchError("psql failed (exit \(status)) for \(sql.prefix(200))") }
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `scripts/postgres start` with this process as the server's watcher, and returns its `KEY=VALUE` lines.
    private static func start() throws -> [String: String] {
        let script = try Self.script()
        var environment = ProcessInfo.processInfo.environment
        environment["TOKENTOP_PG_WATCH_PID"] = String(getpid())
        let child = try Subprocess(script, ["start"], environment: environment, capture: true)
        let (output, status) = child.finish()
        guard status == 0 else {
            throw BenchError(
                "\(script) start exited with \(status); apt-get install postgresql, or set "
                    + "TOKENTOP_TEST_PG_URL to a running server")
        }
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// `scripts/postgres` of the repository this benchmark was built from, else of the working directory.
    private static func script() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let candidates = [root + "/scripts/postgres", FileManager.default.currentDirectoryPath + "/scripts/postgres"]
        guard let found = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw BenchError("cannot find scripts/postgres; run from the repository or set TOKENTOP_TEST_PG_URL")
        }
        return found
    }

    /// `url` with its path replaced by `/database`.
    private static func url(_ url: String, database: String) throws -> String {
        guard var components = URLComponents(string: url) else { throw BenchError("not a URL: \(url)") }
        components.path = "/" + database
        guard let result = components.string else { throw BenchError("cannot build a URL from \(url)") }
        return result
    }
}
