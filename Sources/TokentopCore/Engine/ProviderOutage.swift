import Foundation

/// A provider whose circuit breaker is open: its refreshes are held until a probe gets an answer.
public struct ProviderOutage: Sendable, Equatable {
    /// The provider's name, as integrations name it.
    public var provider: String
    /// When the breaker opened.
    public var since: Date
    /// Refreshes that came due while it was open and wait for it to close.
    public var heldRefreshes: Int
    /// When the next probe goes out; nil while one is in flight.
    public var nextProbeAt: Date?
    /// The failure that opened it, or the last failed probe's.
    public var lastError: ProviderError?

    /// Creates the description of one open breaker.
    public init(provider: String, since: Date, heldRefreshes: Int, nextProbeAt: Date?, lastError: ProviderError?) {
        self.provider = provider
        self.since = since
        self.heldRefreshes = heldRefreshes
        self.nextProbeAt = nextProbeAt
        self.lastError = lastError
    }

    /// One line for a banner: `provider acme-crm is failing: 37 refreshes paused, next try in 12s (...)`.
    public func banner(at now: Date) -> String {
        let held = counted(heldRefreshes, "refresh", "refreshes") + " paused"
        let next =
            nextProbeAt.map { $0 > now ? "next try in \(Countdown.format(until: $0, now: now))" : "next try now" }
            ?? "trying now"
        let cause = lastError.map { " (\($0.summary))" } ?? ""
        return "provider \(provider) is failing: \(held), \(next)\(cause)"
    }
}
