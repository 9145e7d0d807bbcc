import Foundation

/// Prometheus text exposition (format 0.0.4) of the connections and the refresh counters, for node_exporter's
/// textfile collector or any scraper that reads a file.
public enum PrometheusExposition {
    /// How every exposition begins; a file that starts otherwise is not ours to replace.
    static let signature = "# HELP tokentop_connections "

    /// The whole exposition: connections by scope and status, seconds to the nearest expiry, refreshes and
    /// failures by provider and reason, and the refresh latency histogram.
    public static func text(_ snapshot: DashboardSnapshot, metrics: RefreshMetrics, at now: Date) -> String {
        var counts: [IdentityScope: [ConnectionStatus: Int]] = [:]
        var nearest: Double?
        for connection in snapshot.connections {
            counts[connection.scope, default: [:]][snapshot.status(of: connection, at: now), default: 0] += 1
            if connection.revokedAt == nil, let expiry = connection.expiresAt, expiry > now {
                let left = expiry.timeIntervalSince(now)
                nearest = min(nearest ?? left, left)
            }
        }
        var lines: [String] = []
        func family(_ name: String, _ type: String, _ help: String) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
        }
        family("tokentop_connections", "gauge", "Connections by identity model (scope) and status.")
        // Every pair, zeros included, so that a status that empties out reads 0 rather than vanishing.
        for scope in IdentityScope.allCases {
            for status in ConnectionStatus.allCases {
                let labels = labelSet(["scope": scope.rawValue, "status": status.rawValue])
                lines.append("tokentop_connections\(labels) \(counts[scope]?[status] ?? 0)")
            }
        }
        family(
            "tokentop_next_expiry_seconds", "gauge",
            "Seconds until the nearest expiry of a token that is not revoked; absent when none expires.")
        if let nearest { lines.append("tokentop_next_expiry_seconds \(number(nearest))") }

        let counted = metrics.snapshot
        family("tokentop_refreshes_total", "counter", "Refreshes that succeeded, by provider.")
        for (provider, count) in counted.refreshes.sorted(by: { $0.key < $1.key }) {
            lines.append("tokentop_refreshes_total\(labelSet(["provider": provider])) \(count)")
        }
        family(
            "tokentop_refresh_failures_total", "counter",
            "Refreshes that failed, by provider and reason (an RFC 6749 error code, one of tokentop's, or other).")
        for (provider, reasons) in counted.failures.sorted(by: { $0.key < $1.key }) {
            for (reason, count) in reasons.sorted(by: { $0.key < $1.key }) {
                lines.append(
                    "tokentop_refresh_failures_total\(labelSet(["provider": provider, "reason": reason])) \(count)")
            }
        }
        family(
            "tokentop_refresh_duration_seconds", "histogram",
            "Time from sending a refresh to the provider's answer (or giving up), in seconds.")
        for (index, bound) in RefreshMetrics.buckets.enumerated() {
            lines.append(
                "tokentop_refresh_duration_seconds_bucket\(labelSet(["le": number(bound)])) "
                    + "\(counted.bucketCounts[index])")
        }
        lines.append("tokentop_refresh_duration_seconds_bucket{le=\"+Inf\"} \(counted.count)")
        lines.append("tokentop_refresh_duration_seconds_sum \(number(counted.sum))")
        lines.append("tokentop_refresh_duration_seconds_count \(counted.count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `{a="x",b="y"}` with keys sorted and values escaped as the format requires. An empty value is no label, as
    /// Prometheus reads it (the counters' series past their cap have no provider), and no labels is no braces.
    static func labelSet(_ labels: [String: String]) -> String {
        let pairs = labels.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { key, value in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return "\(key)=\"\(escaped)\""
        }
        return pairs.isEmpty ? "" : "{" + pairs.joined(separator: ",") + "}"
    }

    /// A sample value: whole numbers without a fraction, others in their shortest exact decimal form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
