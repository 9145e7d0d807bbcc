import Foundation
import Testing

@testable import TokentopCore

/// A date edited into a database (1e300 s, -1e300 s, not a number) prints as some date or count, never traps a
/// conversion to an integer as it once did in `show`, `list --json` and the dashboard.
@Suite struct CountdownOutOfRangeTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        (1e300, "9999-12-31T23:59:59Z"), (-1e300, "0000-01-01T00:00:00Z"), (Double.nan, "1970-01-01T00:00:00Z"),
        (Double.infinity, "9999-12-31T23:59:59Z"), (-Double.infinity, "0000-01-01T00:00:00Z"),
        (1e19, "9999-12-31T23:59:59Z"), (253_402_300_799, "9999-12-31T23:59:59Z"), (0, "1970-01-01T00:00:00Z"),
    ])
    func rfc3339ClampsToWhatItCanWrite(seconds: Double, expected: String) {
        #expect(RFC3339.string(from: Date(timeIntervalSince1970: seconds)) == expected)
    }

    @Test func countdownsAndAgesClamp() {
        #expect(Countdown.format(seconds: 1e300) == "11574074074d01h")
        #expect(Countdown.format(seconds: .infinity) == "11574074074d01h")
        #expect(Countdown.format(seconds: .nan) == "expired")
        #expect(Countdown.format(seconds: -1e300) == "expired")
        #expect(Countdown.format(until: Date(timeIntervalSince1970: 1e300), now: Self.now) == "11574074074d01h")
        #expect(Countdown.wholeSeconds(.nan) == 0)
        #expect(Countdown.wholeSeconds(-1e300) == -1_000_000_000_000_000)
        #expect(Countdown.wholeSeconds(2.5, .up) == 3)
        let longAgo = SecretAge.phrase(since: Date(timeIntervalSince1970: -1e300), now: Self.now)
        #expect(longAgo == "set 11574074074 days ago")
        #expect(SecretAge.phrase(since: Date(timeIntervalSince1970: 1e300), now: Self.now) == "set just now")
        #expect(SecretAge.short(since: Date(timeIntervalSince1970: -1e300), now: Self.now) == "31709791y old")
        #expect(SecretAge.short(since: Date(timeIntervalSince1970: .nan), now: Self.now) == "new")
    }
}
