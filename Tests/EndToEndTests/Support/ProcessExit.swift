import Foundation

extension Process {
    /// Waits for the process to end without holding a thread of Swift's cooperative pool; its exit status.
    ///
    /// `waitUntilExit` blocks the thread it runs on, and the pool has only as many threads as the machine has
    /// cores: two tests blocked in it stall every other test of the process. The wait runs on a thread of its own.
    func exited() async -> Int32 {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                self.waitUntilExit()
                continuation.resume(returning: self.terminationStatus)
            }
        }
    }
}
