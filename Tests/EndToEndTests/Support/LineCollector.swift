import Foundation
import Synchronization

/// Collects a process's JSON-lines log on a thread of its own, so a test can wait for a line with a deadline.
final class LineCollector: Sendable {
    private let text = Mutex("")

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }
    }

    /// The JSON objects of the complete lines so far.
    var objects: [[String: Any]] {
        text.withLock { $0 }.split(separator: "\n").compactMap {
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
}

extension Binary {
    /// Starts `tokentop daemon` with `environment` added, collecting its log lines from standard error.
    static func startLoggingDaemon(
        environment: [String: String], arguments: [String] = []
    ) throws -> (Process, LineCollector) {
        let process = Process()
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
