import Foundation

/// A circuit breaker per provider, so that an outage costs one probe per cool-down instead of a storm of doomed
/// refreshes and a thousand error lines.
///
/// Closed, it counts transient failures (network errors, 5xx, 429, answers that are not OAuth) in a sliding window,
/// and any answer from the provider clears them. At ``RefreshPolicy/breakerFailures`` failures on at least
/// ``RefreshPolicy/breakerConnections`` connections within ``RefreshPolicy/breakerWindow`` seconds it opens: the
/// provider's due refreshes are held here (still scheduled, nothing recorded against them) until the cool-down
/// ends and one of them goes out as a half-open probe. A probe the provider answers closes it and releases the
/// held refreshes; a probe that fails opens it again for twice as long, up to ``RefreshPolicy/breakerCoolDownCap``.
///
/// It owns no clock and sends nothing: the refresh actor asks it and tells it what happened.
struct ProviderBreaker {
    /// What the actor should do with a due refresh.
    enum Admission: Equatable {
        /// The breaker is closed: refresh as usual.
        case proceed
        /// The breaker is open and its cool-down is over: this refresh is the one probe.
        case probe
        /// The breaker is open: the refresh is held until it closes.
        case held
    }

    /// What a recorded outcome changed.
    enum Change: Equatable {
        case opened(ProviderOutage)
        /// Closed after being open since `since`; `released` are the held refreshes, to be rescheduled.
        case closed(provider: String, since: Date, released: [String])
    }

    private enum Phase: Equatable {
        case closed
        case open(until: Date)
        case probing(connectionID: String)
    }

    private struct Provider {
        var phase = Phase.closed
        /// Transient failures since the provider last answered, within the window.
        var failures: [(at: Date, connectionID: String)] = []
        var openedAt = Date.distantPast
        /// Failed probes since it opened; each doubles the cool-down.
        var failedProbes = 0
        var held: Set<String> = []
        var lastError: ProviderError?
    }

    private let policy: RefreshPolicy
    private var providers: [String: Provider] = [:]
    /// Probes in flight, by connection id, with their provider.
    private var probing: [String: String] = [:]
    private let random: () -> Double

    /// - Parameter random: numbers in [0, 1) for the jitter of cool-downs and releases; tests pass a fixed one.
    init(policy: RefreshPolicy, random: @escaping () -> Double = { Double.random(in: 0..<1) }) {
        self.policy = policy
        self.random = random
    }

    /// Whether a due refresh of `connectionID` may go out now; a held one is released when the breaker closes.
    mutating func admit(_ connectionID: String, provider: String, at now: Date) -> Admission {
        guard var entry = providers[provider] else { return .proceed }
        defer { providers[provider] = entry }
        switch entry.phase {
        case .closed:
            return .proceed
        case .open(let until) where until <= now:
            entry.phase = .probing(connectionID: connectionID)
            entry.held.remove(connectionID)
            probing[connectionID] = provider
            return .probe
        case .open, .probing:
            entry.held.insert(connectionID)
            return .held
        }
    }

    /// Whether a refresh admitted earlier may still go out now: it may, unless the breaker opened since (it is then
    /// held like a refresh that ``admit(_:provider:at:)`` holds), and a probe always may.
    mutating func readmit(_ connectionID: String, provider: String, at now: Date) -> Bool {
        if probing[connectionID] == provider { return true }
        return admit(connectionID, provider: provider, at: now) != .held
    }

    /// Held refreshes to send now as probes: one for each open provider whose cool-down is over.
    mutating func probes(at now: Date) -> [String] {
        var chosen: [String] = []
        for (provider, var entry) in providers {
            guard case .open(let until) = entry.phase, until <= now, let id = entry.held.min() else { continue }
            entry.held.remove(id)
            entry.phase = .probing(connectionID: id)
            probing[id] = provider
            providers[provider] = entry
            chosen.append(id)
        }
        return chosen
    }

    /// Counts the outcome of one refresh of `connectionID` at `provider`: nil `failure` for a success.
    ///
    /// Only an answer from the provider says it is up: an OAuth error with an HTTP status (`invalid_grant`,
    /// `invalid_client`) counts as one. A failure that never reached it (a missing key, an unsupported grant)
    /// counts for nothing.
    mutating func record(
        _ connectionID: String, provider: String, failure: ProviderError?, at now: Date
    ) -> Change? {
        let transient = failure.map { $0.kind == .transient || $0.kind == .malformed } ?? false
        let answered = failure == nil || (!transient && failure?.status != nil)
        guard transient || answered else { return nil }
        let wasProbe = probing[connectionID] == provider
        if wasProbe { probing[connectionID] = nil }
        var entry = providers[provider] ?? Provider()
        if answered {
            // The provider answers: forget its failures; an open breaker closes.
            providers[provider] = nil
            guard entry.phase != .closed else { return nil }
            for id in probing.keys where probing[id] == provider { probing[id] = nil }
            return .closed(provider: provider, since: entry.openedAt, released: entry.held.sorted())
        }
        entry.lastError = failure
        defer { providers[provider] = entry }
        switch entry.phase {
        case .closed:
            let windowStart = now.addingTimeInterval(-policy.breakerWindow)
            entry.failures.removeAll { $0.at < windowStart }
            entry.failures.append((now, connectionID))
            let connections = Set(entry.failures.map(\.connectionID)).count
            guard entry.failures.count >= policy.breakerFailures, connections >= policy.breakerConnections else {
                return nil
            }
            entry.failures = []
            entry.openedAt = now
            entry.failedProbes = 0
            entry.phase = .open(until: now.addingTimeInterval(coolDown(entry, retryAfter: failure?.retryAfter)))
            return .opened(outage(provider, entry))
        case .probing(let probe) where probe == connectionID:
            entry.failedProbes += 1
            entry.phase = .open(until: now.addingTimeInterval(coolDown(entry, retryAfter: failure?.retryAfter)))
            return nil
        case .open, .probing:
            // A request sent before the breaker opened, failing late: the probe decides.
            return nil
        }
    }

    /// Ends a probe that finished without an answer to count (another process held the lease, the connection
    /// changed): the next due refresh, or the next held one, probes instead.
    mutating func abandon(_ connectionID: String, at now: Date) {
        guard let provider = probing.removeValue(forKey: connectionID), var entry = providers[provider],
            entry.phase == .probing(connectionID: connectionID)
        else { return }
        entry.phase = .open(until: now)
        providers[provider] = entry
    }

    /// When a released refresh should go out: at random within the release spread, so that a recovered provider
    /// is not hit by every held refresh in the same second.
    func releaseTime(after now: Date) -> Date {
        now.addingTimeInterval(policy.breakerReleaseSpread * random())
    }

    /// The open breakers, by provider name.
    var outages: [ProviderOutage] {
        providers.compactMap { provider, entry in entry.phase == .closed ? nil : outage(provider, entry) }
            .sorted { $0.provider < $1.provider }
    }

    private func outage(_ provider: String, _ entry: Provider) -> ProviderOutage {
        var next: Date?
        if case .open(let until) = entry.phase { next = until }
        return ProviderOutage(
            provider: provider, since: entry.openedAt, heldRefreshes: entry.held.count, nextProbeAt: next,
            lastError: entry.lastError)
    }

    /// The cool-down before the next probe: doubled by each failed probe, capped, with up to 25 % jitter, and no
    /// shorter than the provider's `Retry-After` (within the cap).
    private func coolDown(_ entry: Provider, retryAfter: Double?) -> Double {
        let doubled = policy.breakerCoolDown * pow(2, Double(min(entry.failedProbes, 30)))
        let base = min(policy.breakerCoolDownCap, doubled) * (1 + 0.25 * random())
        return max(base, min(retryAfter ?? 0, policy.breakerCoolDownCap))
    }
}
