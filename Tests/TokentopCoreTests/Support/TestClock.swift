import Foundation
import Synchronization
import TokentopCore

/// A clock the test moves by hand; `sleep` waits briefly without moving it.
final class TestClock: TimeSource {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    func now() -> Date { current.withLock { $0 } }

    func advance(_ seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    /// Sleeps for real, but at most 20 ms, so waits take place without slowing the tests.
    func sleep(seconds: Double) async throws {
        try await Task.sleep(nanoseconds: UInt64(max(0.001, min(seconds, 0.02)) * 1_000_000_000))
    }
}

/// A fresh directory under the system's temporary directory, removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
