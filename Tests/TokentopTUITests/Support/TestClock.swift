import Foundation
import Synchronization
import TokentopCore

/// A clock that stands still until a test moves it, so rendered times never depend on the wall clock.
final class TestClock: TimeSource {
    /// 2026-01-01 00:00:00 UTC.
    static let start = Date(timeIntervalSince1970: 1_767_225_600)

    private let current: Mutex<Date>

    init(_ date: Date = TestClock.start) {
        current = Mutex(date)
    }

    func now() -> Date { current.withLock { $0 } }

    func sleep(seconds: Double) async throws { advance(seconds) }

    func advance(_ seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}
