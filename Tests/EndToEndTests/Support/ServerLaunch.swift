import Foundation
import TokentopTestSupport

/// Reads a freshly started test server's first line of stdout (its port) with a deadline.
///
/// The deadline and the read share one flag, set on the reading thread the moment the line is complete: a test
/// task that resumes late, because the cooperative pool is busy with other tests' blocking calls, must not let the
/// deadline kill a server that answered in time.
enum ServerLaunch {
    /// Starts `python script arguments` with its stderr in `directory/server.log`, and waits for the port it
    /// prints first; a server that prints none is killed and its log quoted in the error.
    static func startPython(
        _ python: String, script relativePath: String, arguments: [String], directory: URL
    ) async throws -> (process: Child, port: Int) {
        let script = OAuthServerFixture.packageRoot.appendingPathComponent(relativePath)
        let process = Child()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path] + arguments
        // No __pycache__ written into the source tree.
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let logURL = directory.appendingPathComponent("server.log")
        guard FileManager.default.createFile(atPath: logURL.path, contents: nil) else {
            throw OAuthServerFixture.Failure("cannot create \(logURL.path)")
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: logURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A server that never prints its port would block the read forever; killing it ends the read with EOF.
        let pid = process.processIdentifier
        let line = await firstLine(of: output.fileHandleForReading, pid: pid)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0 else {
            kill(pid, SIGKILL)
            let status = await process.exited()
            let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            throw OAuthServerFixture.Failure(
                "\(relativePath) printed no port (exit \(status)); its stderr:\n\(log.suffix(4000))")
        }
        return (process, port)
    }

    /// The first line `pid` prints on `handle`, or what it printed before EOF; kills it with SIGKILL when nothing
    /// complete arrives within `seconds`, which ends the read with EOF.
    static func firstLine(of handle: FileHandle, pid: Int32, within seconds: Double = 60) async -> String {
        let state = ReadState()
        let deadline = DispatchWorkItem {
            if state.markTimedOutUnlessDone() { kill(pid, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
        return await withCheckedContinuation { continuation in
            // Reading blocks a thread: keep it off the cooperative pool, on a thread of its own (the global
            // queue's threads come about a second apart on Linux once its first ones are busy).
            Thread.detachNewThread {
                var bytes = Data()
                while !bytes.contains(UInt8(ascii: "\n")) {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    bytes.append(chunk)
                }
                // The deadline still fires, and finds the read done.
                state.markDone()
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    // @unchecked Sendable: its one mutable field is read and written only under `lock`.
    private final class ReadState: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false

        func markDone() {
            lock.lock()
            done = true
            lock.unlock()
        }

        /// Whether the read was still waiting when the deadline came.
        func markTimedOutUnlessDone() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            return !done
        }
    }
}
