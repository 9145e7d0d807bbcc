import Foundation
import Synchronization
import TokentopTestSupport

/// A run of the binary that the test talks to while it runs: its output is read as it comes, so the test can
/// act on a line (a URL, a user code) before the program ends.
final class LiveProcess {
    private let process = Child()
    private let output = Collected()
    private let errors = Collected()

    /// Bytes a pipe delivered so far, appended from the pipe's reading thread with the moment each chunk came.
    private final class Collected: Sendable {
        private let chunks = Mutex<[(at: Date, bytes: Data)]>([])
        func append(_ chunk: Data) { chunks.withLock { $0.append((Date(), chunk)) } }
        var text: String { String(decoding: chunks.withLock { $0.reduce(Data()) { $0 + $1.bytes } }, as: UTF8.self) }

        /// When the output first held `text`, as the pipe's thread saw it: a measure a busy test task cannot delay.
        func arrival(of text: String) -> Date? {
            var seen = Data()
            for chunk in chunks.withLock({ $0 }) {
                seen += chunk.bytes
                if String(decoding: seen, as: UTF8.self).contains(text) { return chunk.at }
            }
            return nil
        }
    }

    /// Starts `tokentop` with `arguments`; `environment` is added to this process's.
    init(_ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        Self.collect(out.fileHandleForReading, into: output)
        Self.collect(err.fileHandleForReading, into: errors)
    }

    /// Reads `handle` as its bytes come, to the end, on a thread of its own.
    ///
    /// Not Foundation's `readabilityHandler`: its dispatch read source, never cleared, lived on after the pipe was
    /// closed, and the test process crashed now and then in libdispatch's manager thread
    /// (`_dispatch_event_loop_drain`, CI runs 25, 29 and 36).
    private static func collect(_ handle: FileHandle, into collected: Collected) {
        Thread.detachNewThread {
            while case let chunk = handle.availableData, !chunk.isEmpty { collected.append(chunk) }
        }
    }

    var stdout: String { output.text }

    /// When standard output first held `text`, timed on the pipe's reading thread; nil when it never did.
    func arrival(ofOutput text: String) -> Date? { output.arrival(of: text) }
    var stderr: String { errors.text }

    /// Waits until stdout satisfies `condition` (or the program ends, or `timeout` passes); returns stdout.
    ///
    /// Polls with `Task.sleep`, which gives the thread back to the cooperative pool for other tests meanwhile.
    @discardableResult
    func waitForOutput(timeout: Double = 20, until condition: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(stdout), process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return stdout
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    func interrupt() { process.interrupt() }

    /// Sends SIGINT as soon as `condition` holds, watched on a thread of its own: under the whole suite's load a
    /// test's task may not run for minutes, and the moment passed unseen (an import's store was written and closed
    /// meanwhile). Returns whether it did before the program ended or `timeout` passed.
    func interrupt(when condition: @escaping @Sendable () -> Bool, timeout: Double) async -> Bool {
        let pid = process.processIdentifier
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                // kill(pid, 0) fails once the process is gone (reaped).
                while !condition(), kill(pid, 0) == 0, Date() < deadline { usleep(2_000) }
                let held = condition() && kill(pid, SIGINT) == 0
                continuation.resume(returning: held)
            }
        }
    }

    /// Sends SIGINT after `first` seconds and again `second` seconds later, waits for the exit (up to `timeout`
    /// seconds), then runs `then`: all on a thread of its own, so that a test's task the loaded pool resumes late
    /// cannot stretch the steps (a held answer was released only after its request's 30 s time limit, CI).
    func interruptTwice(
        after first: Double, again second: Double, timeout: Double, then: @escaping @Sendable () -> Void
    ) async {
        let child = process
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: first)
                child.interrupt()
                Thread.sleep(forTimeInterval: second)
                child.interrupt()
                let deadline = Date().addingTimeInterval(timeout)
                while child.isRunning, Date() < deadline { usleep(10_000) }
                then()
                continuation.resume()
            }
        }
    }

    /// Sends SIGINT and waits for the exit, up to `timeout` seconds, on a thread of its own that also times it: a
    /// test's task the loaded pool resumes late counted 8.1 s for an exit bounded by one 5 s busy wait (CI).
    /// - Returns: the seconds from the signal to the exit; nil when it did not end in time.
    func interruptTimed(timeout: Double) async -> Double? {
        let child = process
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let sent = Date()
                child.interrupt()
                while child.isRunning, Date().timeIntervalSince(sent) < timeout { usleep(5_000) }
                continuation.resume(returning: child.isRunning ? nil : Date().timeIntervalSince(sent))
            }
        }
    }

    /// Waits for the exit (SIGKILL after `timeout`) and returns the status; nil when it had to be killed.
    func finish(timeout: Double = 30) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        // The last bytes may still be on their way from the pipes' reading threads.
        try await Task.sleep(for: .milliseconds(100))
        return process.terminationStatus
    }
}
