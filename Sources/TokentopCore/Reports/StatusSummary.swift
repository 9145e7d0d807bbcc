import Foundation

/// `tokentop status`: one line and the exit status of a monitoring check.
public struct StatusSummary: Sendable, Equatable {
    /// 0 when all is well; 1 when something is failing or overdue, a static credential's last probe failed, or a
    /// token nothing can renew expires soon; 2 when something needs a human (re-auth, a token expired that nothing
    /// can renew, or a stored row that cannot be read).
    public var exitCode: Int32
    /// The exit status when the store cannot be read at all: UNKNOWN, as monitoring checks say it.
    public static let unknownExitCode: Int32 = 3
    public var line: String
    /// How many renewable tokens are past their expiry, or were never minted, and not renewed (see
    /// ``Connection/isOverdue(at:status:)``).
    public var overdue: Int
    /// The static credentials, not revoked, whose last probe failed (`■ static ✗`); a refused one (401, 403) is
    /// needs-reauth instead, and counted there.
    public var probeFailing: [String]
    /// The tokens nothing can renew (no refresh token, no grant to mint one) that expire within the shortest lead
    /// window: a human must act before they run out, and only then would they count as expired.
    public var expiringUnrenewable: [String]
    /// The connections a human must act on (needs-reauth or expired): they make the check critical.
    public var needsHuman: [String]

    /// Summarises `snapshot` at `now`.
    /// - Parameter refresherRunning: whether a dashboard or daemon refreshes this store now, nil when unknown; it
    ///   words what overdue tokens suggest.
    public init(_ snapshot: DashboardSnapshot, at now: Date, refresherRunning: Bool? = nil) {
        let counts = snapshot.counts(at: now)
        let total = counts.values.reduce(0, +)
        let parts = ConnectionStatus.allCases.compactMap { status in
            counts[status].map { "\($0) \(status.rawValue)" }
        }
        let (overdue, unminted) = Self.overdue(snapshot, at: now, counts: counts)
        self.overdue = overdue
        let humans = (counts[.needsReauth] ?? 0) + (counts[.expired] ?? 0)
        // Read only when there are some: the counts come from a tally, and naming them costs a pass over every row.
        let stranded: [(id: String, status: ConnectionStatus)] =
            humans == 0
            ? []
            : snapshot.connections.compactMap { connection in
                let status = snapshot.status(of: connection, at: now)
                return status == .needsReauth || status == .expired ? (connection.id, status) : nil
            }
        needsHuman = stranded.map(\.id)
        probeFailing = snapshot.connections.filter(\.probeFailed).map(\.id)
        let horizon = now.addingTimeInterval(snapshot.policy.minimumLead)
        expiringUnrenewable = snapshot.connections.filter { connection in
            guard connection.revokedAt == nil, connection.reauthReason == nil, connection.credential.expires,
                !connection.isRenewable, let expiresAt = connection.expiresAt
            else { return false }
            return expiresAt > now && expiresAt <= horizon
        }.map(\.id)
        let warnings = (counts[.failing] ?? 0) + overdue + probeFailing.count + expiringUnrenewable.count
        // A row that cannot be read is refreshed by nobody until a human imports it again.
        let critical = humans > 0 || !snapshot.unreadable.isEmpty
        exitCode = critical ? 2 : warnings > 0 ? 1 : 0
        let verdict = critical ? "CRITICAL" : warnings > 0 ? "WARNING" : "OK"
        var detail = parts.isEmpty ? "no connections" : parts.joined(separator: ", ")
        if !stranded.isEmpty {
            let named = stranded.prefix(Self.namedHumans).map { "\($0.id) (\($0.status.rawValue))" }
            let more = stranded.count > Self.namedHumans ? " and \(stranded.count - Self.namedHumans) more" : ""
            detail += "; a human must act on " + named.joined(separator: ", ") + more
        }
        if overdue > 0 {
            // Not a status of its own: these are among the expiring and failing ones counted before the semicolon.
            let why =
                switch refresherRunning {
                case true?: "a refresher is running: `tokentop show ID` gives each one's last error"
                case false?: "no daemon or dashboard refreshes this store"
                case nil: "is a daemon or dashboard running?"
                }
            let what = unminted > 0 ? "past expiry or never minted" : "past expiry"
            detail += "; \(overdue) overdue (\(what), not renewed: \(why))"
        }
        if !probeFailing.isEmpty {
            detail += "; \(probeFailing.count) static with a failed probe (\(Self.named(probeFailing)))"
        }
        if !expiringUnrenewable.isEmpty {
            let count = expiringUnrenewable.count
            detail += "; \(count) expire\(count == 1 ? "s" : "") within "
                + "\(Countdown.format(seconds: snapshot.policy.minimumLead)) with nothing to renew "
                + "\(count == 1 ? "it" : "them") (\(Self.named(expiringUnrenewable)))"
        }
        if let unreadable = UnreadableConnection.summary(snapshot.unreadable) { detail += "; " + unreadable }
        line = "\(verdict): \(counted(total, "connection")): \(detail)"
    }

    /// How many of the connections a human must act on the line names; it says how many more there are.
    static let namedHumans = 5

    /// The first three ids, and `…` when there are more.
    private static func named(_ ids: [String]) -> String {
        ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", …" : "")
    }

    /// Counts the overdue connections, and among them those never minted; only when some are expiring or failing,
    /// since no other status can be.
    private static func overdue(
        _ snapshot: DashboardSnapshot, at now: Date, counts: [ConnectionStatus: Int]
    ) -> (overdue: Int, unminted: Int) {
        guard (counts[.expiring] ?? 0) + (counts[.failing] ?? 0) > 0 else { return (0, 0) }
        var overdue = 0
        var unminted = 0
        for connection in snapshot.connections where connection.isRenewable {
            // The status is worked out only for the few that can be overdue: it costs a parent lookup.
            if let expiresAt = connection.expiresAt, now < expiresAt { continue }
            guard connection.expiresAt != nil || connection.isUnminted else { continue }
            guard connection.isOverdue(at: now, status: snapshot.status(of: connection, at: now)) else { continue }
            overdue += 1
            if connection.isUnminted { unminted += 1 }
        }
        return (overdue, unminted)
    }
}
