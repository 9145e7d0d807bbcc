import Foundation

/// `tokentop status`: one line and the exit status of a monitoring check.
public struct StatusSummary: Sendable, Equatable {
    /// 0 when all is well, 1 when something is failing, 2 when something needs a human (re-auth or expired).
    public var exitCode: Int32
    public var line: String

    /// Summarises `snapshot` at `now`.
    public init(_ snapshot: DashboardSnapshot, at now: Date) {
        let counts = snapshot.counts(at: now)
        let total = counts.values.reduce(0, +)
        let parts = ConnectionStatus.allCases.compactMap { status in
            counts[status].map { "\($0) \(status.rawValue)" }
        }
        let needsHuman = (counts[.needsReauth] ?? 0) + (counts[.expired] ?? 0)
        let failing = counts[.failing] ?? 0
        exitCode = needsHuman > 0 ? 2 : failing > 0 ? 1 : 0
        let verdict = needsHuman > 0 ? "CRITICAL" : failing > 0 ? "WARNING" : "OK"
        let detail = parts.isEmpty ? "no connections" : parts.joined(separator: ", ")
        line = "\(verdict): \(total) connection\(total == 1 ? "" : "s"): \(detail)"
    }
}
