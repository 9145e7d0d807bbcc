import Foundation
import Synchronization

/// Reads a pipe to its end on a dedicated thread, so the caller can read the child's other pipe meanwhile: a child
/// that fills one pipe's buffer (64 KiB) while the caller waits on the other cannot stall them both.
///
/// A `Thread` of its own, not `DispatchQueue.global()`: on Linux the global queue adds threads about a second
/// apart once its first ones are busy, and Swift's cooperative pool is only as wide as the core count.
public final class PipeDrain: Sendable {
    private let bytes = Mutex(Data())
    private let finished = DispatchSemaphore(value: 0)

    /// Starts reading `handle` at once.
    public init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            let data = handle.readDataToEndOfFile()
            bytes.withLock { $0 = data }
            finished.signal()
        }
    }

    /// Blocks until the writer closed its end; everything it wrote.
    public func wait() -> Data {
        finished.wait()
        // Left signalled, so that a second call returns too.
        finished.signal()
        return bytes.withLock { $0 }
    }
}
