import Foundation
import Testing

@testable import TokentopTUI

@Suite struct TimeTextTests {
    @Test(
        arguments: [
            (nil, "never"),
            (0, "just now"),
            (12, "12s ago"),
            (120, "2m ago"),
            (3 * 3_600 + 59, "3h ago"),
            (4 * 86_400, "4d ago"),
            (1e300, "11574074074d ago"),
            (-1e300, "just now"),
            (.nan, "just now"),
        ] as [(Double?, String)])
    func formatsAges(secondsAgo: Double?, expected: String) {
        let now = TestClock.start
        #expect(TimeText.ago(secondsAgo.map { now.addingTimeInterval(-$0) }, now: now) == expected)
    }

    @Test(
        arguments: [
            (1_767_225_600.0, "2026-01-01 00:00:00 UTC"),
            (951_782_400 + 3_661, "2000-02-29 01:01:01 UTC"),
            (0, "1970-01-01 00:00:00 UTC"),
            (-1, "1969-12-31 23:59:59 UTC"),
            // Edited into a database: clamped to what RFC 3339 writes, never a trap.
            (1e300, "9999-12-31 23:59:59 UTC"),
            (-1e300, "0-01-01 00:00:00 UTC"),
            (.nan, "1970-01-01 00:00:00 UTC"),
        ] as [(Double, String)])
    func formatsAbsoluteUTC(epoch: Double, expected: String) {
        #expect(TimeText.utc(Date(timeIntervalSince1970: epoch)) == expected)
    }
}
