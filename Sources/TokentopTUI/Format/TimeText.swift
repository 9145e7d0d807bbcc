import Foundation
import TokentopCore

/// The dashboard's other time formats: relative ages and absolute UTC times.
enum TimeText {
    /// How long ago `date` was: `12s ago`, `2m ago`, `3h ago`, `4d ago`, `never` for nil.
    static func ago(_ date: Date?, now: Date) -> String {
        guard let date else { return "never" }
        let seconds = Countdown.wholeSeconds(now.timeIntervalSince(date))
        if seconds < 1 { return "just now" }
        if seconds < 60 { return "\(seconds)s ago" }
        if seconds < 3_600 { return "\(seconds / 60)m ago" }
        if seconds < 86_400 { return "\(seconds / 3_600)h ago" }
        return "\(seconds / 86_400)d ago"
    }

    /// `date` relative to `now` in either direction: `in 4m05s` or `2m ago`.
    static func relative(_ date: Date, now: Date) -> String {
        date > now ? "in \(Countdown.format(seconds: date.timeIntervalSince(now)))" : ago(date, now: now)
    }

    /// `2025-01-02 03:04:05 UTC`.
    static func utc(_ date: Date) -> String {
        let parts = components(date)
        return "\(parts.year)-\(pad(parts.month))-\(pad(parts.day)) \(clock(date)) UTC"
    }

    /// `03:04:05`, in UTC.
    static func clock(_ date: Date) -> String {
        let parts = components(date)
        return "\(pad(parts.hour)):\(pad(parts.minute)):\(pad(parts.second))"
    }

    /// An absolute UTC time with its relative form: `2025-01-02 03:04:05 UTC (2m ago)`; `—` for nil.
    static func absoluteAndRelative(_ date: Date?, now: Date) -> String {
        guard let date else { return Countdown.none }
        return "\(utc(date)) (\(relative(date, now: now)))"
    }

    // Arithmetic on the epoch keeps formatting free of locale and time zone state, and cheap enough per frame.
    private static func components(_ date: Date) -> (
        year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    ) {
        let epoch = RFC3339.epochSeconds(date)
        let days = epoch >= 0 ? epoch / 86_400 : (epoch - 86_399) / 86_400
        let secondOfDay = epoch - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secondOfDay / 3_600, secondOfDay % 3_600 / 60, secondOfDay % 60)
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
