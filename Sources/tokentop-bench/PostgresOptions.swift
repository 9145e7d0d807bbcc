import Foundation

/// The command line of the shared-store figures (the `pg` phase): `tokentop daemon` processes on one store.
struct PostgresOptions {
    static let usage = """
          --pg-connections N    connections due at once for pg_refresh_per_s_K (default 10000; the fleet holds
                                half as many again that are not due)
          --pg-daemons LIST     how many daemons share the PostgreSQL store, each count measured on its own
                                database (default 1,2,3)
          --pg-due N            connections due one after another for pg_lateness_ms_* (default 2000)
          --pg-due-window S     their due times spread over S seconds (default 30)
          --pg-start-delay S    seconds from the import to the first due time, for the daemons to start
                                (default 20, longer when seeding was slow)
          --no-sqlite-daemon    skip sqlite_daemon_*, the same daemon figures on an SQLite file
        The pg phase uses the server TOKENTOP_TEST_PG_URL names, or starts one with scripts/postgres.
        """

    /// The flags that take a value.
    static let flags: Set<String> = [
        "--pg-connections", "--pg-daemons", "--pg-due", "--pg-due-window", "--pg-start-delay",
    ]

    var connections = 10_000
    var daemons = [1, 2, 3]
    var due = 2_000
    var dueWindow = 30.0
    var startDelay = 20.0
    /// Whether the daemon figures are also measured on SQLite, with one daemon, for comparison.
    var sqlite = true

    /// Takes one of ``flags`` and its value.
    mutating func parse(_ flag: String, _ text: String) throws {
        func number() throws -> Double {
            guard let number = Double(text.replacingOccurrences(of: "_", with: "")), number > 0 else {
                throw BenchError("\(flag) wants a positive number, not \"\(text)\"")
            }
            return number
        }
        switch flag {
        case "--pg-connections": connections = Int(try number())
        case "--pg-due": due = Int(try number())
        case "--pg-due-window": dueWindow = try number()
        case "--pg-start-delay": startDelay = max(11, try number())
        case "--pg-daemons":
            daemons = try text.split(separator: ",").map { part in
                guard let count = Int(part), (1...16).contains(count) else {
                    throw BenchError("--pg-daemons wants counts from 1 to 16 like 1,2,3, not \"\(text)\"")
                }
                return count
            }
        default: throw BenchError("unknown option \(flag)")
        }
    }
}
