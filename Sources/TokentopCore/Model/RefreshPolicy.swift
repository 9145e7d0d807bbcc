import Foundation

/// When the refresh actor renews a token, and how it backs off after a failure.
public struct RefreshPolicy: Sendable, Equatable {
    /// The lead window is at least this long, in seconds.
    public var minimumLead: Double
    /// The lead window is at least this fraction of the token's lifetime.
    public var leadFraction: Double
    /// Each connection's due time moves earlier by up to this fraction of its lead window, so that tokens issued
    /// together do not all fire in the same second. The amount is fixed per connection.
    public var jitterFraction: Double
    /// The first retry delay after a transient failure, in seconds; it doubles with each failure.
    public var backoffBase: Double
    /// The longest retry delay, in seconds.
    public var backoffCap: Double
    /// The retry delay after a configuration error (`invalid_client`), which a retry is unlikely to mend.
    public var configurationRetry: Double
    /// Refreshes in flight at once, across all connections.
    public var concurrency: Int
    /// The lead window is at most this fraction of the token's lifetime (before jitter), so that a short-lived
    /// token is not due the moment it is issued.
    public var maximumLeadFraction: Double = 0.5
    /// No connection is due again sooner than this many seconds after its token was issued.
    public var minimumInterval: Double = 10
    /// History entries older than this many seconds are deleted by the refreshing processes; nil keeps them all.
    /// A fleet of 100,000 tokens that live an hour writes 2.4 million entries a day.
    public var historyRetention: Double? = 90 * 86_400
    /// The lifetime assumed for a token whose answer gave no expiry, so that it is renewed on a schedule.
    public var unknownExpiryLifetime: Double
    /// A provider's circuit breaker opens after this many transient failures with no success in between...
    public var breakerFailures = 5
    /// ...on at least this many distinct connections...
    public var breakerConnections = 3
    /// ...within this many seconds.
    public var breakerWindow: Double = 30
    /// Seconds an open breaker waits before one probe; each failed probe doubles it.
    public var breakerCoolDown: Double = 15
    /// The longest wait between two probes, in seconds.
    public var breakerCoolDownCap: Double = 300
    /// Refreshes held by an open breaker resume spread at random over this many seconds once it closes.
    public var breakerReleaseSpread: Double = 30

    public init(
        minimumLead: Double = 300, leadFraction: Double = 0.1, jitterFraction: Double = 0.2,
        backoffBase: Double = 5, backoffCap: Double = 900, configurationRetry: Double = 1800, concurrency: Int = 8,
        unknownExpiryLifetime: Double = 3600
    ) {
        self.minimumLead = minimumLead
        self.leadFraction = leadFraction
        self.jitterFraction = jitterFraction
        self.backoffBase = backoffBase
        self.backoffCap = backoffCap
        self.configurationRetry = configurationRetry
        self.concurrency = concurrency
        self.unknownExpiryLifetime = unknownExpiryLifetime
    }

    /// The policy for production: a lead of the larger of 5 minutes and 10 % of the lifetime.
    public static let standard = RefreshPolicy()

    /// The demo's policy, scaled to tokens that live minutes: refreshes and retries happen while you watch.
    public static let demo = RefreshPolicy(
        minimumLead: 20, leadFraction: 0.15, jitterFraction: 0.3, backoffBase: 3, backoffCap: 30,
        configurationRetry: 60, concurrency: 4)

    /// The lead window for a token that lives `lifetime` seconds.
    public func lead(lifetime: Double) -> Double {
        max(minimumLead, leadFraction * max(0, lifetime))
    }

    /// When the actor should renew `connection`, or nil when nothing should.
    ///
    /// After a failure this is the retry time; otherwise the expiry less the lead window and the connection's
    /// fixed jitter, but never sooner than ``minimumInterval`` after the token was issued, whatever lifetime the
    /// provider gave: a token that lives less than that is renewed every ``minimumInterval`` seconds and is
    /// expired in between.
    public func dueAt(_ connection: Connection) -> Date? {
        guard connection.isRenewable, connection.revokedAt == nil, connection.reauthReason == nil else { return nil }
        if let retryAt = connection.retryAt, connection.failures > 0 { return retryAt }
        guard let expiresAt = connection.expiresAt else {
            // A grant that mints its token (a key, a client secret) and has none yet is due at once.
            return connection.accessFingerprint == nil ? connection.createdAt : nil
        }
        let due = expiresAt.addingTimeInterval(-windowStart(connection, expiresAt: expiresAt))
        // Only a token this program renewed has a floor: an imported token (its issue time is the import's) that
        // is already expired is due at once.
        guard let refreshed = connection.lastRefreshAt else { return due }
        return max(due, refreshed.addingTimeInterval(minimumInterval))
    }

    /// Seconds before expiry at which the connection counts as `expiring`.
    ///
    /// The larger of the minimum lead and the lead fraction, but never more than half the lifetime (a 5-minute
    /// token is renewed after about 2½ minutes, not in a loop), then moved earlier by the fixed jitter, and never
    /// sooner than ``minimumInterval`` after the token was issued.
    func windowStart(_ connection: Connection, expiresAt: Date) -> Double {
        let start = connection.issuedAt ?? connection.lastRefreshAt ?? connection.createdAt
        let lifetime = max(0, expiresAt.timeIntervalSince(start))
        let lead = min(lead(lifetime: lifetime), maximumLeadFraction * lifetime)
        let jittered = lead * (1 + jitterFraction * Self.unitJitter(connection.id))
        return min(jittered, max(0, lifetime - minimumInterval))
    }

    /// The retry delay after `failures` consecutive transient failures, with up to 25 % random jitter.
    public func backoff(failures: Int, retryAfter: Double?, random: Double = Double.random(in: 0..<1)) -> Double {
        let exponent = min(max(failures - 1, 0), 30)
        let base = min(backoffCap, backoffBase * pow(2, Double(exponent)))
        let jittered = base * (0.75 + 0.25 * random)
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, backoffCap * 4))
    }

    /// A stable number in [0, 1) derived from a connection's id (FNV-1a).
    static func unitJitter(_ id: String) -> Double {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Double(hash % 10_000) / 10_000
    }
}

extension Connection {
    /// The connection's one status at `now`, as DESIGN.md defines it.
    ///
    /// One rule serves every reader (the dashboard, `list`, `show`, `status`, metrics, hooks), in this order: the
    /// stored facts (`revoked`, `needs-reauth`), a refresh in flight (`refreshing`), a credential without expiry
    /// (`static`); then a token past its expiry that nothing can renew is `expired`; one whose last refresh failed is
    /// `failing` (the token may still be valid); a renewable one inside its lead window, or past its expiry, is
    /// `expiring`: a refresh is due, and the refresh actor, not a human, acts on it. The rest are `healthy`.
    ///
    /// A renewable token past its expiry is therefore never `expired`; ``isOverdue(at:status:)`` tells it apart,
    /// so that `tokentop status` can warn that nothing renewed it in time.
    /// - Parameters:
    ///   - now: the clock's time.
    ///   - inFlight: whether the refresh actor is refreshing it right now.
    ///   - policy: the lead window that separates `healthy` from `expiring`.
    public func status(at now: Date, inFlight: Bool = false, policy: RefreshPolicy) -> ConnectionStatus {
        if revokedAt != nil { return .revoked }
        if reauthReason != nil { return .needsReauth }
        if inFlight { return .refreshing }
        guard credential.expires else { return .static }
        guard let expiresAt else {
            if failures > 0 { return .failing }
            return isUnminted ? .expiring : .healthy
        }
        // Nothing retries a token that cannot renew: once it runs out, only a human brings it back.
        if now >= expiresAt, !isRenewable { return .expired }
        if failures > 0 { return .failing }
        if isRenewable, now >= expiresAt.addingTimeInterval(-policy.windowStart(self, expiresAt: expiresAt)) {
            return .expiring
        }
        return .healthy
    }

    /// Whether the token is past its expiry though something could renew it, and nothing has: its status is
    /// `expiring` or `failing` (never `expired`, which is for tokens nothing can renew), but the refresh actor renews
    /// inside the lead window, so no refresher runs or its refreshes do not get through.
    ///
    /// A grant that mints its token and never has (``isUnminted``) holds no token at all: it was due when it was
    /// created, and is overdue as one past its expiry is.
    /// - Parameters:
    ///   - now: the clock's time.
    ///   - status: the connection's status at `now`, as ``DashboardSnapshot/status(of:at:)`` gives it.
    public func isOverdue(at now: Date, status: ConnectionStatus) -> Bool {
        guard status == .expiring || status == .failing else { return false }
        guard let expiresAt else { return isUnminted }
        return now >= expiresAt
    }

    /// Whether a renewable connection holds no token yet: no expiry and no access token, as a connection imported
    /// without one (token exchange, on-behalf-of, JWT bearer, client credentials) until the refresh actor mints it.
    public var isUnminted: Bool { isRenewable && expiresAt == nil && accessFingerprint == nil }
}
