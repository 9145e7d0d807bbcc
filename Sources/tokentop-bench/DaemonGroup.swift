import Foundation
import TokentopCore

/// `tokentop daemon` processes sharing one store, as an operator runs them, each with a JSON-lines log of its own.
///
/// Only these children are ever signalled, by pid: SIGTERM to stop them as an operator does, SIGKILL when the
/// benchmark gives up on a run.
final class DaemonGroup {
    private var processes: [Subprocess]
    private let logs: [String]
    private let errors: [String]
    private var stopped = false

    /// Starts `count` daemons of `executable` on `store` (an SQLite file or a PostgreSQL URL) with the refresh
    /// policy's lead window and concurrency; logs, standard output and standard error go under `directory`.
    init(
        executable: String, count: Int, store: String, directory: String, environment: [String: String],
        lead: Double, concurrency: Int
    ) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var processes: [Subprocess] = []
        var logs: [String] = []
        var errors: [String] = []
        do {
            for index in 1...count {
                let log = "\(directory)/daemon-\(index).log"
                try? FileManager.default.removeItem(atPath: log)
                let process = try Subprocess(
                    executable,
                    [
                        "daemon", Store.isPostgres(store) ? "--store" : "--db", store, "--log", log,
                        "--lead", "\(Int(lead))", "--concurrency", "\(concurrency)",
                    ],
                    environment: environment, outputPath: "\(directory)/daemon-\(index).out",
                    errorPath: "\(directory)/daemon-\(index).err")
                processes.append(process)
                logs.append(log)
                errors.append("\(directory)/daemon-\(index).err")
            }
        } catch {
            for process in processes { process.signal(SIGKILL) }
            for process in processes { _ = process.wait() }
            throw error
        }
        self.processes = processes
        self.logs = logs
        self.errors = errors
    }

    deinit { kill() }

    /// Waits until every daemon has logged `daemon started` (its store is open and its engine runs).
    /// - Returns: when the last one was seen to start.
    /// - Throws: when one exits or `deadline` passes first.
    func waitUntilStarted(deadline: Date) throws -> Date {
        while true {
            for (index, process) in processes.enumerated() where Self.hasExited(process.pid) {
                let error = (try? String(contentsOfFile: errors[index], encoding: .utf8)) ?? ""
                throw BenchError("daemon \(index + 1) exited before it started: \(error.suffix(400))")
            }
            let started = logs.filter { log in lines(log).contains { $0["msg"] as? String == "daemon started" } }
            if started.count == logs.count { return Date() }
            guard Date() < deadline else {
                throw BenchError("only \(started.count) of \(logs.count) daemons started in time")
            }
            usleep(20_000)
        }
    }

    /// Stops every daemon with SIGTERM and waits for them.
    /// - Returns: the refreshes each one says it made, from its `daemon stopped` line (nil when it has none).
    func stop() throws -> [Int?] {
        for process in processes { process.signal(SIGTERM) }
        var statuses: [Int32] = []
        for process in processes { statuses.append(process.wait()) }
        stopped = true
        guard statuses.allSatisfy({ $0 == 0 }) else {
            throw BenchError("daemons exited with \(statuses.map(String.init).joined(separator: ", "))")
        }
        return logs.map { log in
            let line = lines(log).last { $0["msg"] as? String == "daemon stopped" }
            return (line?["refreshes"] as? NSNumber)?.intValue
        }
    }

    /// The CPU seconds (user and system) each daemon has used so far; read before ``stop()``, while they run.
    func cpuSeconds() -> [Double] {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return processes.map { process in
            guard let stat = try? String(contentsOfFile: "/proc/\(process.pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return 0 }
            // After the command name: state is field 3, utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / ticks
        }
    }

    /// Ends the daemons at once, when a run failed; nothing when they have stopped already.
    func kill() {
        guard !stopped else { return }
        stopped = true
        for process in processes { process.signal(SIGKILL) }
        for process in processes { _ = process.wait() }
    }

    /// The log's lines as JSON objects; a line still being written is skipped.
    private func lines(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap {
            try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]
        }
    }

    /// Whether `pid` has exited and is only a zombie now: it is not reaped, so `wait` still reports its status.
    private static func hasExited(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // The state follows the command name, which is in parentheses and may itself hold spaces.
        guard let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
