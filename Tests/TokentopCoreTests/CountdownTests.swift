import Foundation
import Testing
import TokentopCore

@Suite struct CountdownTests {
    @Test(
        arguments: [
            (45.0, "45s"),
            (1, "1s"),
            (0.3, "1s"),
            (59, "59s"),
            (60, "1m00s"),
            (245, "4m05s"),
            (3_599, "59m59s"),
            (3_600, "1h00m"),
            (3_720, "1h02m"),
            (86_399, "23h59m"),
            (86_400, "1d00h"),
            (273_600, "3d04h"),
            (40 * 86_400, "40d00h"),
            (0, "expired"),
            (-1, "expired"),
            (-86_400, "expired"),
        ] as [(Double, String)])
    func formatsSecondsLeft(seconds: Double, expected: String) {
        #expect(Countdown.format(seconds: seconds) == expected)
    }

    @Test func noExpiryIsADash() {
        #expect(Countdown.format(until: nil, now: Date(timeIntervalSince1970: 1_800_000_000)) == "—")
    }

    @Test func countsDownToADate() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(Countdown.format(until: now.addingTimeInterval(245), now: now) == "4m05s")
        #expect(Countdown.format(until: now, now: now) == "expired")
    }
}
