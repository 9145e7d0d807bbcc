import Foundation

/// How long the commands that read a whole store take at N connections: `status` (which a monitoring system runs
/// every minute), `list` and `list --json`, each `tokentop` run on its own, its output thrown away.
///
/// Their cost must grow with N, not with N squared: a parent looked up by a scan made `status` take 10.6 s and
/// `list --json` 19.4 s at 100,000 connections.
struct CommandPhase {
    let tokentop: String
    let database: String
    let environment: [String: String]

    /// The commands timed, each with the name of its figure.
    static let commands: [(figure: String, arguments: [String])] = [
        ("status_ms", ["status"]), ("list_ms", ["list"]), ("list_json_ms", ["list", "--json"]),
    ]

    /// Each command's wall time in milliseconds, the best of `runs`: the figure of the command, not of a moment
    /// the machine was busy elsewhere; and, as `peak_rss_mb_commands`, the largest peak memory of any of them.
    func run(runs: Int = 3) throws -> [String: String] {
        var figures: [String: String] = [:]
        var peak = 0.0
        for (figure, arguments) in Self.commands {
            var best = Double.infinity
            for _ in 0..<runs {
                var status: Int32 = 0
                let elapsed = try Measure.time {
                    let child = try Subprocess(
                        tokentop, arguments + ["--db", database], environment: environment, outputPath: "/dev/null",
                        errorPath: "/dev/null")
                    let ended = child.waitMeasured()
                    status = ended.status
                    peak = max(peak, ended.peakResidentMB)
                }
                // `status` exits 0 to 2 by its verdict (a fleet with failures is CRITICAL); 3 and more is a failure.
                guard status >= 0, status <= 2 else {
                    throw BenchError("tokentop \(arguments.joined(separator: " ")) failed (exit \(status))")
                }
                best = min(best, elapsed)
            }
            figures[figure] = Measure.format(best, digits: 1)
        }
        figures["peak_rss_mb_commands"] = Measure.format(peak, digits: 1)
        return figures
    }
}
