import Foundation

/// How a write worth keeping (tokens a provider has issued) is tried again while the database's problem may pass
/// (``StoreError/mayPass``): a quarter second after a failure, doubling to two seconds, for up to a minute.
struct StoreRetry {
    static let limit = 60.0
    private let giveUp: Date
    private var delay = 0.25

    /// - Parameter latest: an earlier end, such as the refresh lease's.
    init(from start: Date, until latest: Date = .distantFuture) {
        giveUp = min(start.addingTimeInterval(Self.limit), latest)
    }

    /// Waits before the next try; false, at once, when `error` is no problem that may pass or the time is up.
    mutating func wait(after error: any Error, clock: any TimeSource) async -> Bool {
        guard (error as? StoreError)?.mayPass == true, clock.now() < giveUp else { return false }
        do { try await clock.sleep(seconds: delay) } catch { return false }
        delay = min(delay * 2, 2)
        return true
    }
}
