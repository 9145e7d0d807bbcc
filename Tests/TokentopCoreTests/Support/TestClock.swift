import Foundation
import Synchronization
import TokentopCore

/// A clock the test moves by hand; `sleep` waits briefly without moving it, unless told to let the time pass.
final class TestClock: TimeSource {
    private struct State {
        var now: Date
        var sleeps: [Double] = []
        var sleepingMovesTime = false
    }

    private let state: Mutex<State>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { state = Mutex(State(now: start)) }

    func now() -> Date { state.withLock { $0.now } }

    func advance(_ seconds: Double) { state.withLock { $0.now = $0.now.addingTimeInterval(seconds) } }

    /// Every wait asked of ``sleep(seconds:)``, in seconds, oldest first.
    var sleeps: [Double] { state.withLock { $0.sleeps } }

    /// From now on each sleep moves the clock by the time it was asked to wait, as a real wait would.
    func letSleepingMoveTime() { state.withLock { $0.sleepingMovesTime = true } }

    /// Sleeps for real, but at most 20 ms, so waits take place without slowing the tests.
    func sleep(seconds: Double) async throws {
        state.withLock {
            $0.sleeps.append(seconds)
            if $0.sleepingMovesTime { $0.now = $0.now.addingTimeInterval(seconds) }
        }
        try await Task.sleep(nanoseconds: UInt64(max(0.001, min(seconds, 0.02)) * 1_000_000_000))
    }
}

/// A fresh directory under this test process's own directory, which goes when the process exits: tests that do not
/// remove theirs (a store a test keeps open to the end) leave nothing behind in the system's temporary directory.
func temporaryDirectory() throws -> URL {
    let url = testProcessDirectory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// `tokentop-tests-PID` under the system's temporary directory, removed at exit.
let testProcessDirectory: URL = {
    atexit { try? FileManager.default.removeItem(at: testProcessDirectory) }
    return FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-tests-\(getpid())")
}()
