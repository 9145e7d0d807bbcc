import Foundation

/// `tokentop status`: one line and the exit status of a monitoring check.
public struct StatusSummary: Sendable, Equatable {
    /// 0 when all is well; 1 when something is failing or overdue, or a static credential's last probe failed; 2
    /// when something needs a human (re-auth, or a token expired that nothing can renew).
    public var exitCode: Int32
    public var line: String
    /// How many renewable tokens are past their expiry and not renewed (see ``Connection/isOverdue(at:status:)``).
    public var overdue: Int
    /// The static credentials, not revoked, whose last probe failed (`■ static ✗`); a refused one (401, 403) is
    /// needs-reauth instead, and counted there.
    public var probeFailing: [String]

    /// Summarises `snapshot` at `now`.
    public init(_ snapshot: DashboardSnapshot, at now: Date) {
        let counts = snapshot.counts(at: now)
        let total = counts.values.reduce(0, +)
        let parts = ConnectionStatus.allCases.compactMap { status in
            counts[status].map { "\($0) \(status.rawValue)" }
        }
        overdue = Self.overdue(snapshot, at: now, counts: counts)
        let needsHuman = (counts[.needsReauth] ?? 0) + (counts[.expired] ?? 0)
        probeFailing = snapshot.connections.filter(\.probeFailed).map(\.id)
        let warnings = (counts[.failing] ?? 0) + overdue + probeFailing.count
        exitCode = needsHuman > 0 ? 2 : warnings > 0 ? 1 : 0
        let verdict = needsHuman > 0 ? "CRITICAL" : warnings > 0 ? "WARNING" : "OK"
        var detail = parts.isEmpty ? "no connections" : parts.joined(separator: ", ")
        if overdue > 0 {
            // Not a status of its own: these are among the expiring and failing ones counted before the semicolon.
            detail += "; \(overdue) overdue (past expiry, not renewed: is a daemon or dashboard running?)"
        }
        if !probeFailing.isEmpty {
            let named = probeFailing.prefix(3).joined(separator: ", ") + (probeFailing.count > 3 ? ", …" : "")
            detail += "; \(probeFailing.count) static with a failed probe (\(named))"
        }
        line = "\(verdict): \(total) connection\(total == 1 ? "" : "s"): \(detail)"
    }

    /// Counts the overdue connections; only when some are expiring or failing, since no other status can be.
    private static func overdue(_ snapshot: DashboardSnapshot, at now: Date, counts: [ConnectionStatus: Int]) -> Int {
        guard (counts[.expiring] ?? 0) + (counts[.failing] ?? 0) > 0 else { return 0 }
        var overdue = 0
        for connection in snapshot.connections where connection.isRenewable {
            guard let expiresAt = connection.expiresAt, now >= expiresAt else { continue }
            if connection.isOverdue(at: now, status: snapshot.status(of: connection, at: now)) { overdue += 1 }
        }
        return overdue
    }
}
