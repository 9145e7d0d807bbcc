import Foundation

/// When the prober checks a static credential against its integration's probe URL, and how long it waits.
public struct ProbePolicy: Sendable, Equatable {
    /// Seconds between two scheduled probes when the integration does not say.
    public var defaultInterval: Double
    /// Each connection's probe moves earlier by up to this fraction of its interval, fixed per connection, so that
    /// keys imported together are not all checked in the same second.
    public var jitterFraction: Double
    /// Seconds a probe may take in all before it counts as unanswered.
    public var timeout: Double
    /// Probes in flight at once, across all connections.
    public var concurrency: Int

    /// Creates a policy.
    public init(defaultInterval: Double = 900, jitterFraction: Double = 0.1, timeout: Double = 10, concurrency: Int = 4)
    {
        self.defaultInterval = defaultInterval
        self.jitterFraction = jitterFraction
        self.timeout = timeout
        self.concurrency = concurrency
    }

    /// Every 15 minutes unless the integration says otherwise, 10 seconds to answer.
    public static let standard = ProbePolicy()

    /// Whether `connection` is checked at all: a static secret that a request can carry, not revoked, under an
    /// integration with a probe URL.
    public func isProbed(_ connection: Connection, integration: Integration?) -> Bool {
        guard let integration, integration.probeURL != nil else { return false }
        return Self.probedCredentials.contains(connection.credential) && connection.revokedAt == nil
            && connection.accessFingerprint != nil
    }

    /// The credentials a probe can present: a private key signs assertions and is never sent, and an OAuth 2.0
    /// token is checked by its own refreshes.
    static let probedCredentials: Set<CredentialKind> = [.apiKey, .basic, .botToken]

    /// Seconds between scheduled probes of `integration`'s connections.
    public func interval(for integration: Integration) -> Double {
        max(1, integration.probeInterval ?? defaultInterval)
    }

    /// When `connection` is next probed, or nil when it is not probed at all.
    ///
    /// A connection never probed is due at once; otherwise one interval after the last probe, less its fixed jitter.
    public func dueAt(_ connection: Connection, integration: Integration?) -> Date? {
        guard isProbed(connection, integration: integration), let integration else { return nil }
        guard let last = connection.probe?.at else { return connection.createdAt }
        let interval = interval(for: integration)
        return last.addingTimeInterval(interval * (1 - jitterFraction * RefreshPolicy.unitJitter(connection.id)))
    }
}
