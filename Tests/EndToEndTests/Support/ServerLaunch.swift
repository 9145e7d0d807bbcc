import Foundation

/// Reads a freshly started test server's first line of stdout (its port) with a deadline.
///
/// The deadline and the read share one flag, set on the reading thread the moment the line is complete: a test
/// task that resumes late, because the cooperative pool is busy with other tests' blocking calls, must not let the
/// deadline kill a server that answered in time.
enum ServerLaunch {
    /// The first line `pid` prints on `handle`, or what it printed before EOF; kills it with SIGKILL when nothing
    /// complete arrives within `seconds`, which ends the read with EOF.
    static func firstLine(of handle: FileHandle, pid: Int32, within seconds: Double = 60) async -> String {
        let state = ReadState()
        let deadline = DispatchWorkItem {
            if state.markTimedOutUnlessDone() { kill(pid, SIGKILL) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: deadline)
        return await withCheckedContinuation { continuation in
            // Reading blocks a thread: keep it off the cooperative pool.
            DispatchQueue.global().async {
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
