import Foundation
import Synchronization

/// Counters of the refresh actor's work, for Prometheus: refreshes and failures by provider and reason, and a
/// histogram of how long each refresh's exchange with the provider took.
public final class RefreshMetrics: Sendable {
    /// Upper bounds of the latency histogram's buckets, in seconds (Prometheus adds `+Inf`).
    public static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    struct Counts: Equatable {
        var refreshes: [String: Int] = [:]
        /// By provider, then by reason.
        var failures: [String: [String: Int]] = [:]
        /// Cumulative counts per bucket, then the total count and the sum of seconds.
        var bucketCounts = Array(repeating: 0, count: RefreshMetrics.buckets.count)
        var count = 0
        var sum = 0.0
    }

    private let counts = Mutex(Counts())

    /// Creates empty counters.
    public init() {}

    /// Counts one refresh that succeeded after `seconds` with the provider.
    func recordSuccess(provider: String, seconds: Double) {
        counts.withLock { counts in
            counts.refreshes[provider, default: 0] += 1
            Self.observe(seconds, in: &counts)
        }
    }

    /// Counts one refresh that failed for `reason` (the provider's error code, or ours such as `network_error`).
    func recordFailure(provider: String, reason: String, seconds: Double) {
        counts.withLock { counts in
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
