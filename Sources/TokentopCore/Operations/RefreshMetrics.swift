import Foundation
import Synchronization

/// Counters of the refresh actor's work, for Prometheus: refreshes and failures by provider and reason, and a
/// histogram of how long each refresh's exchange with the provider took.
///
/// Label values stay bounded whatever a provider answers: a `reason` is one of ``reasons`` or `other`, and each
/// labelled family holds at most ``maximumSeries`` series, past which a new provider's count goes to the series
/// without a provider label (so that a sum over the family still counts every refresh).
public final class RefreshMetrics: Sendable {
    /// Upper bounds of the latency histogram's buckets, in seconds (Prometheus adds `+Inf`).
    public static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// The `reason` values kept as they are: the error codes of RFC 6749 (§4.1.2.1 and §5.2) and RFC 8693's
    /// `invalid_target` (token exchange is a refresh here), and the codes tokentop itself gives a failed refresh.
    /// A provider's `error` is its own text, so any other code is counted as ``otherReason``.
    static let reasons: Set<String> = [
        // RFC 6749 and RFC 8693.
        "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
        "invalid_scope", "access_denied", "unsupported_response_type", "server_error", "temporarily_unavailable",
        "invalid_target",
        // tokentop's: the network, an answer that is not OAuth, GitHub's answers, and the integration's set-up.
        "network_error", "http_error", "rate_limited", "redirect", "unexpected_status", "malformed_response",
        "oversized_response", "answer_too_large", "unsupported_token_type", "forbidden", "validation_failed",
        "installation_gone", "installation_suspended", "clock_skew", "no_refresh_token", "no_grant", "no_private_key",
        "invalid_signing_key", "invalid_installation_id", "invalid_api_base", "private_key_as_client_secret",
    ]
    /// The `reason` of a failure whose code is not one of ``reasons``.
    static let otherReason = "other"
    /// The most series one labelled family (refreshes by provider, failures by provider and reason) holds.
    static let maximumSeries = 1_000
    /// The provider a count is kept under once its family is full: none, which the exposition writes as no label.
    static let unlabelled = ""

    struct Counts: Equatable {
        var refreshes: [String: Int] = [:]
        /// By provider, then by reason.
        var failures: [String: [String: Int]] = [:]
        /// How many (provider, reason) pairs ``failures`` holds.
        var failureSeries = 0
        /// Cumulative counts per bucket, then the total count and the sum of seconds.
        var bucketCounts = Array(repeating: 0, count: RefreshMetrics.buckets.count)
        var count = 0
        var sum = 0.0
    }

    private let counts = Mutex(Counts())

    /// Creates empty counters.
    public init() {}

    /// The label a failure's code is counted under: the code when it is one of ``reasons``, else ``otherReason``.
    static func reason(for error: String) -> String {
        reasons.contains(error) ? error : otherReason
    }

    /// Counts one refresh that succeeded after `seconds` with the provider.
    func recordSuccess(provider: String, seconds: Double) {
        counts.withLock { counts in
            let full = counts.refreshes[provider] == nil && counts.refreshes.count >= Self.maximumSeries
            counts.refreshes[full ? Self.unlabelled : provider, default: 0] += 1
            Self.observe(seconds, in: &counts)
        }
    }

    /// Counts one refresh that failed with `error` (the provider's error code, or ours such as `network_error`).
    func recordFailure(provider: String, error: String, seconds: Double) {
        let reason = Self.reason(for: error)
        counts.withLock { counts in
            var provider = provider
            if counts.failures[provider]?[reason] == nil, counts.failureSeries >= Self.maximumSeries {
                provider = Self.unlabelled
            }
            if counts.failures[provider]?[reason] == nil { counts.failureSeries += 1 }
            counts.failures[provider, default: [:]][reason, default: 0] += 1
            Self.observe(seconds, in: &counts)
        }
    }

    var snapshot: Counts { counts.withLock { $0 } }

    private static func observe(_ seconds: Double, in counts: inout Counts) {
        for (index, bound) in buckets.enumerated() where seconds <= bound { counts.bucketCounts[index] += 1 }
        counts.count += 1
        counts.sum += seconds
    }
}
