import Foundation
import TokentopCore

/// The benchmark's command line.
struct BenchOptions {
    static let usage = """
        usage: tokentop-bench [--connections N[,N...]] [--idle-seconds S] [--due N] [--refreshes N]
                              [--wrk-seconds S] [--key-samples N]
                              [--transport curl|urlsession] [--work DIR] [--no-network] [--phases LIST]

        Builds a database of N connections (default 1000,100000) and prints one figure per line, `name value`,
        for each N in turn. Needs nginx and wrk (apt-get install -y nginx-light wrk) unless --no-network.

          --connections N,...   fleet sizes, each measured on its own database
          --idle-seconds S      how long the idle dashboard is watched for idle_cpu_percent (default 60)
          --due N               connections due within one minute for lateness_ms_p99 (default 10000, at most N)
          --refreshes N         connections due at once for refresh_per_s (default 20000, at most N)
          --wrk-seconds S       how long wrk runs for wrk_per_s (default 10)
          --key-samples N       keys timed for each frame figure (default 300)
          --transport NAME      the HTTP transport the engine uses (default: the one tokentop uses)
          --work DIR            where databases and nginx's files go (default: a new temporary directory)
          --no-network          skip refresh_per_s, wrk_per_s, refresh_ratio, lateness_ms_p99 and the pg phase
          --phases LIST         run only some of frames,commands,throughput,lateness,pg (default all)
          --prepare-only        prepare each phase's database under --work and print its command, for a profiler
                                (needs --work and TOKENTOP_KEY, which the printed commands open them with)

        The pg phase (daemons sharing one store; `--phases pg` runs it alone):
        \(PostgresOptions.usage)
        """

    var connections = [1_000, 100_000]
    var idleSeconds = 60.0
    var due = 10_000
    var refreshes = 20_000
    var wrkSeconds = 10
    var transport = "default"
    var work: String?
    var network = true
    /// Prepare the phases' databases and print their commands instead of running them (for profiling).
    var prepareOnly = false
    /// Which phases run; all by default.
    var phases: Set<String> = ["frames", "commands", "throughput", "lateness", "pg"]
    /// The options of the pg phase.
    var postgres = PostgresOptions()
    var columns = 160
    var rows = 50
    /// Keys timed per kind of key.
    var keySamples = 300
    /// The due times of `--due` spread over this many seconds.
    var dueWindow = 60.0
    /// Set in a child process: which phase it runs, on which database.
    var phase: String?
    var database = ""
    var startedAt: UInt64 = 0

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = rest.popFirst() else { throw BenchError("\(flag) needs a value\n\n\(Self.usage)") }
            return next
        }
        func number(_ flag: String) throws -> Double {
            let text = try value(flag)
            guard let number = Double(text), number >= 0 else {
                throw BenchError("\(flag) wants a number, not \"\(text)\"")
            }
            return number
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--connections":
                let text = try value(flag)
                connections = try text.split(separator: ",").map { part in
                    guard let count = Int(part.replacingOccurrences(of: "_", with: "")), count > 0 else {
                        throw BenchError("--connections wants counts like 1000,100000, not \"\(text)\"")
                    }
                    return count
                }
            case "--idle-seconds": idleSeconds = try number(flag)
            case "--due": due = Int(try number(flag))
            case "--refreshes": refreshes = Int(try number(flag))
            case "--wrk-seconds": wrkSeconds = max(1, Int(try number(flag)))
            case "--transport": transport = try value(flag)
            case "--work": work = try value(flag)
            case "--no-network": network = false
            case "--prepare-only": prepareOnly = true
            case "--phases":
                phases = Set(try value(flag).split(separator: ",").map(String.init))
                guard phases.isSubset(of: ["frames", "commands", "throughput", "lateness", "pg"]) else {
                    throw BenchError("--phases names some of frames,commands,throughput,lateness,pg")
                }
            case let flag where PostgresOptions.flags.contains(flag): try postgres.parse(flag, try value(flag))
            case "--no-sqlite-daemon": postgres.sqlite = false
            case "--key-samples": keySamples = max(1, Int(try number(flag)))
            case "--phase": phase = try value(flag)
            case "--db": database = try value(flag)
            case "--started-at": startedAt = UInt64(try number(flag))
            case "--help", "-h": throw BenchError(Self.usage)
            default: throw BenchError("unknown option \(flag)\n\n\(Self.usage)")
            }
        }
        guard ["default", "curl", "urlsession"].contains(transport) else {
            throw BenchError("--transport is curl or urlsession, not \"\(transport)\"")
        }
    }

    /// The transport the engine uses in the phases.
    func makeTransport() throws -> any HTTPTransport {
        switch transport {
        case "urlsession": URLSessionTransport()
        default: try CurlTransport()
        }
    }

    /// The arguments that pass these options on to a phase's process.
    var childArguments: [String] {
        [
            "--idle-seconds", "\(idleSeconds)", "--transport", transport, "--key-samples", "\(keySamples)",
        ]
    }
}
