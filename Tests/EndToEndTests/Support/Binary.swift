import Foundation
import Testing
import TokentopTestSupport

/// The built `tokentop` executable that these tests drive: `$TOKENTOP_BIN`, or the one beside the test bundle.
enum Binary {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["TOKENTOP_BIN"], !path.isEmpty { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var directory = bundle
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("tokentop").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return bundle.appendingPathComponent("tokentop").path
    }

    /// The exit status of `command` when it cannot read the store: 1, but `status` says UNKNOWN (3) as monitoring
    /// checks do.
    static func failureStatus(of command: [String]) -> Int32 { command.first == "status" ? 3 : 1 }

    /// What `command` prints on standard output when it fails with `stderr`: nothing, but `status` gives its
    /// monitor the same line as `UNKNOWN: …`.
    static func failureOutput(of command: [String], stderr: String) -> String {
        guard command.first == "status", stderr.hasPrefix("tokentop: ") else { return "" }
        return "UNKNOWN: " + stderr.dropFirst("tokentop: ".count)
    }

    /// What `command` prints on standard error when it fails with the error line `stderr`: that line, but `status`
    /// says it once, on standard output (see ``failureOutput(of:stderr:)``), and nothing here.
    static func failureError(of command: [String], stderr: String) -> String {
        command.first == "status" ? "" : stderr
    }

    /// The result of one run of the binary.
    struct Run {
        var status: Int32
        /// Standard output as bytes, for programs (openssl) whose output is binary.
        var output: Data
        var stderr: String

        /// Standard output as text.
        var stdout: String { String(decoding: output, as: UTF8.self) }
    }

    /// Starts `tokentop daemon` in the background with `environment` added; its output goes nowhere.
    static func startDaemon(environment: [String: String]) throws -> Child {
        try start(["daemon"], environment: environment).process
    }

    /// A `tokentop` running in the background; its output goes nowhere (tests read its log files instead).
    final class Background {
        let process: Child

        init(_ process: Child) { self.process = process }

        func signal(_ number: Int32) { Foundation.kill(process.processIdentifier, number) }

        /// Kills it if it still runs: for a test that failed before stopping it properly.
        func kill() { if process.isRunning { signal(SIGKILL) } }

        /// Waits for it to end, without holding a thread of the cooperative pool; its exit status.
        func wait() async -> Int32 { await process.exited() }
    }

    /// Starts `tokentop` with `arguments` in the background, `environment` added to this process's.
    /// - Parameters:
    ///   - directory: the working directory, when not the test runner's.
    ///   - stderr: a file for standard error (created), when not nowhere.
    static func start(
        _ arguments: [String], environment: [String: String], directory: URL? = nil, stderr: String? = nil
    ) throws -> Background {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        if let stderr, FileManager.default.createFile(atPath: stderr, contents: nil),
            let file = FileHandle(forWritingAtPath: stderr)
        {
            process.standardError = file
        } else {
            process.standardError = FileHandle.nullDevice
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return Background(process)
    }

    /// Runs `tokentop` with `arguments` and waits for it; `environment` is added to a clean one.
    /// - Parameter stdout: a file to write standard output to (say, /dev/full) instead of capturing it.
    static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil, stdout: String? = nil
    ) throws -> Run {
        try run(executable: path, arguments, environment: environment, stdin: stdin, stdout: stdout)
    }

    /// Runs any program to the end: its output read whole, `stdin` (small, within a pipe's buffer) written first.
    /// - Parameter directory: the working directory, when not the test runner's.
    static func run(
        executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
        stdout: String? = nil, directory: URL? = nil
    ) throws -> Run {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        if let stdout, let file = FileHandle(forWritingAtPath: stdout) {
            process.standardOutput = file
            try out.fileHandleForWriting.close()
        } else {
            process.standardOutput = out
        }
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        // Far past any command's own waits (a busy timeout, a minute of retries): only a hang meets it.
        process.killIfRunning(after: 240)
        // stderr drains on a thread of its own while stdout is read here: read one after the other, a child that
        // fills the stderr pipe before it closes stdout would wait on us while we wait on it.
        let errors = PipeDrain(err.fileHandleForReading)
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = errors.wait()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: outData, stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A private home for one test: XDG directories and a key, so nothing touches the user's files.
struct Sandbox {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    var database: String { root.appendingPathComponent("data/tokentop/tokentop.sqlite3").path }

    var environment: [String: String] {
        [
            "HOME": root.path, "XDG_DATA_HOME": root.appendingPathComponent("data").path,
            "XDG_CONFIG_HOME": root.appendingPathComponent("config").path, "TOKENTOP_DB": "",
            "TOKENTOP_KEY": "",
        ]
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func remove() { try? FileManager.default.removeItem(at: root) }
}
