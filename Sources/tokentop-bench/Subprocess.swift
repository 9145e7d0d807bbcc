import Foundation

/// A child process started with `posix_spawn`: the benchmark's own phases, nginx and wrk.
///
/// Not Foundation's `Process`, whose `waitUntilExit` can hang; the pid is kept so that only this child is ever
/// signalled.
struct Subprocess {
    let pid: pid_t
    /// The read end of the child's standard output, when it was captured.
    private let output: Int32?

    /// Starts `executable` with `arguments`; standard output is captured when `capture` is set, otherwise it goes to
    /// `outputPath` (or is inherited). Standard error is inherited unless `errorPath` names a file.
    init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, capture: Bool = false,
        outputPath: String? = nil, errorPath: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if capture {
            guard pipe(&pipeEnds) == 0 else { throw BenchError("cannot create a pipe for \(executable)") }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
            posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        } else if let outputPath {
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        if let errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        let envp = variables + [nil]
        defer { for pointer in variables { free(pointer) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, envp)
        if capture { close(pipeEnds[1]) }
        guard result == 0 else {
            if capture { close(pipeEnds[0]) }
            throw BenchError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        pid = child
        output = capture ? pipeEnds[0] : nil
    }

    /// Reads the captured output to its end, then waits for the child; returns the output and the exit status.
    func finish() -> (output: String, status: Int32) {
        var data = [UInt8]()
        if let output {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(output, &buffer, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                data.append(contentsOf: buffer[0..<count])
            }
            close(output)
        }
        return (String(decoding: data, as: UTF8.self), wait())
    }

    /// Waits for the child to end; its exit status, or 128 + the signal that ended it.
    func wait() -> Int32 { waitMeasured().status }

    /// Waits for the child to end: its exit status (or 128 + the signal that ended it) and its peak resident memory
    /// in MiB, as the kernel counted it.
    func waitMeasured() -> (status: Int32, peakResidentMB: Double) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0, errno == EINTR {}
        let signal = status & 0x7f
        // Linux counts ru_maxrss in KiB.
        return (signal == 0 ? (status >> 8) & 0xff : 128 + signal, Double(usage.ru_maxrss) / 1_024)
    }

    /// Sends `signal` to this child only.
    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Finds `name` on `PATH`, or in the sbin directories where Debian puts daemons such as nginx.
    static func locate(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/local/sbin"]
        return directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}

/// A benchmark that cannot run, with a message saying why.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
