import Foundation

/// One run of a command-line tool to its end, with both output streams read whole.
///
/// Both pipes are drained at once (stderr on a `PipeDrain` thread), so a tool that fills one of them cannot stall
/// on the other. The tool must not leave a daemon holding the pipes: `scripts/postgres` closes them for the
/// server it starts, which is why the reads end here although `pg_ctl` daemonizes. A tool still running after
/// 240 s is killed, and its test fails naming it.
struct ToolRun {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Runs `executable` with `arguments`; `environment` is added to this process's own.
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.killIfRunning(after: 240)
        let errors = PipeDrain(err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errorBytes = errors.wait()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = String(decoding: output, as: UTF8.self)
        stderr = String(decoding: errorBytes, as: UTF8.self)
    }
}
