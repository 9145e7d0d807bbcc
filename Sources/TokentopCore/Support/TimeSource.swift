import Foundation

/// The clock seam: the product reads the time and waits only through this, so that tests and the demo control it.
public protocol TimeSource: Sendable {
    /// The current wall-clock time.
    func now() -> Date
    /// Waits for `seconds`, or until the task is cancelled.
    func sleep(seconds: Double) async throws
}

/// The system's clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1_000_000_000))
    }
}
