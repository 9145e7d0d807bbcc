import Foundation
import Synchronization
import TokentopTestSupport

/// Collects a process's JSON-lines log on a thread of its own, so a test can wait for a line with a deadline.
final class LineCollector: Sendable {
    /// What was read so far, and whether the writer closed the pipe.
    private let state = Mutex((text: "", ended: false))

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty {
                    state.withLock { $0.ended = true }
                    return
                }
                state.withLock { $0.text += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    /// Everything read so far.
    var text: String { state.withLock { $0.text } }

    /// The JSON objects of the complete lines so far.
    var objects: [[String: Any]] {
        text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// Waits up to `seconds` for a line whose `msg` is `message`, polling with `Task.sleep` (which, unlike
    /// `Thread.sleep`, lets other tests use the thread meanwhile).
    func waitFor(_ message: String, seconds: Double) async throws -> [String: Any]? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = objects.first(where: { $0["msg"] as? String == message }) { return line }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Waits until the text read so far satisfies `condition`, the writer closes the pipe, or `seconds` pass.
    func wait(seconds: Double, until condition: (String) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let (text, ended) = state.withLock { ($0.text, $0.ended) }
            if ended || condition(text) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits, however long it takes, until the writer closes the pipe: the process ended, say.
    func waitForEnd() async throws {
        while !state.withLock({ $0.ended }) { try await Task.sleep(for: .milliseconds(100)) }
    }
}

extension Binary {
    /// Starts `tokentop daemon` with `environment` added, collecting its log lines from standard error.
    static func startLoggingDaemon(
        environment: [String: String], arguments: [String] = []
    ) throws -> (Child, LineCollector) {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["daemon"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, LineCollector(err.fileHandleForReading))
    }
}
