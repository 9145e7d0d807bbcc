import Foundation

/// How old a static credential's secret is: `set 41 days ago` in details, `41d old` in the table's EXPIRES cell.
///
/// A key or password never expires by itself, so its age is what tells an operator that it is due for rotation.
public enum SecretAge {
    /// `set 41 days ago`, `set 3 hours ago`, `set 1 minute ago`, `set just now`.
    public static func phrase(since date: Date, now: Date) -> String {
        let seconds = max(0, Countdown.wholeSeconds(now.timeIntervalSince(date)))
        func count(_ value: Int, _ unit: String) -> String { "set \(counted(value, unit)) ago" }
        if seconds >= 86_400 { return count(seconds / 86_400, "day") }
        if seconds >= 3_600 { return count(seconds / 3_600, "hour") }
        if seconds >= 60 { return count(seconds / 60, "minute") }
        return "set just now"
    }

    /// `41d old`, `3h old`, `5m old`, `new`; two years and more read `2y old`. At most 8 characters.
    public static func short(since date: Date, now: Date) -> String {
        let seconds = max(0, Countdown.wholeSeconds(now.timeIntervalSince(date)))
        let days = seconds / 86_400
        if days >= 730 { return "\(days / 365)y old" }
        if days >= 1 { return "\(days)d old" }
        if seconds >= 3_600 { return "\(seconds / 3_600)h old" }
        if seconds >= 60 { return "\(seconds / 60)m old" }
        return "new"
    }
}
