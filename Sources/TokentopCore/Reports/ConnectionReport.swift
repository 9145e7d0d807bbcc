import Foundation

/// The stable, documented JSON and text shapes of `tokentop list` and `tokentop show`. Never a secret.
public enum ConnectionReport {
    /// One JSON object per connection, with the fields that `list --json` promises.
    public static func object(
        _ connection: Connection, integration: Integration?, status: ConnectionStatus
    ) -> [String: Any] {
        var object: [String: Any] = [
            "id": connection.id,
            "integration": connection.integrationID,
            "provider": integration?.provider ?? NSNull(),
            "scope": connection.scope.rawValue,
            "subject": connection.subject,
            "status": status.rawValue,
            "credential": connection.credential.rawValue,
            "grant": connection.grant.rawValue,
            "expires_at": timestamp(connection.expiresAt),
            "issued_at": timestamp(connection.issuedAt),
            "last_refresh_at": timestamp(connection.lastRefreshAt),
            "failures": connection.failures,
            "retry_at": timestamp(connection.retryAt),
            "granted_scopes": connection.grantedScopes,
            "access_fingerprint": connection.accessFingerprint ?? NSNull(),
            "refresh_fingerprint": connection.refreshFingerprint ?? NSNull(),
            "reauth_reason": connection.reauthReason ?? NSNull(),
            "revoked_at": timestamp(connection.revokedAt),
            "revoked_at_provider": connection.revokedAtProvider,
        ]
        if let error = connection.lastError {
            object["last_error"] =
                [
                    "error": error.error,
                    "error_description": error.errorDescription ?? NSNull(),
                    "status": error.status ?? NSNull(),
                    "kind": error.kind.rawValue,
                    "body_prefix": error.bodyPrefix ?? NSNull(),
                ] as [String: Any]
        } else {
            object["last_error"] = NSNull()
        }
        return object
    }

    /// `list --json`: one JSON array, keys sorted, one element per connection.
    public static func json(_ snapshot: DashboardSnapshot, connections: [Connection], at now: Date) -> String {
        let array = connections.map {
            object($0, integration: snapshot.integrations[$0.integrationID], status: snapshot.status(of: $0, at: now))
        }
        return encode(array)
    }

    /// `show ID --json`: the connection's object, its integration (without secrets) and its history.
    public static func detailJSON(
        _ connection: Connection, snapshot: DashboardSnapshot, history: [HistoryEntry], at now: Date
    ) -> String {
        let integration = snapshot.integrations[connection.integrationID]
        var result = object(connection, integration: integration, status: snapshot.status(of: connection, at: now))
        if let integration {
            result["integration_detail"] =
                [
                    "id": integration.id, "provider": integration.provider,
                    "token_url": integration.tokenURL.absoluteString,
                    "revocation_url": integration.revocationURL?.absoluteString ?? NSNull(),
                    "client_id": integration.clientID, "client_auth": integration.clientAuth.rawValue,
                    "secret_fingerprint": integration.secretFingerprint ?? NSNull(),
                ] as [String: Any]
        }
        result["history"] = history.map { entry -> [String: Any] in
            ["at": timestamp(entry.at), "kind": entry.kind.rawValue, "message": entry.message]
        }
        return encode(result)
    }

    /// `list`: an aligned text table, one row per connection.
    public static func table(_ snapshot: DashboardSnapshot, connections: [Connection], at now: Date) -> String {
        var rows = [["ID", "SCOPE", "STATUS", "PROVIDER", "SUBJECT", "EXPIRES", "FAILURES"]]
        for connection in connections {
            let status = snapshot.status(of: connection, at: now)
            rows.append([
                connection.id, connection.scope.rawValue, status.rawValue,
                snapshot.integrations[connection.integrationID]?.provider ?? "?", connection.subject,
                Countdown.format(connection.expiresAt.map { $0.timeIntervalSince(now) }),
                String(connection.failures),
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { $0.offset == row.count - 1 ? $0.element : pad($0.element, widths[$0.offset]) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `show ID`: every stored fact, one per line, and the history.
    public static func detailText(
        _ connection: Connection, snapshot: DashboardSnapshot, history: [HistoryEntry], at now: Date
    ) -> String {
        let integration = snapshot.integrations[connection.integrationID]
        var lines: [(String, String)] = [
            ("id", connection.id),
            ("status", snapshot.status(of: connection, at: now).rawValue),
            ("scope", connection.scope.rawValue),
            ("subject", connection.subject),
            ("integration", connection.integrationID),
            ("provider", integration?.provider ?? "?"),
            ("credential", connection.credential.rawValue),
            ("grant", connection.grant.rawValue),
            (
                "granted scopes",
                connection.grantedScopes.isEmpty ? "—" : connection.grantedScopes.joined(separator: " ")
            ),
            ("access token", connection.accessFingerprint ?? "—"),
            ("refresh token", connection.refreshFingerprint ?? "—"),
            ("issued", describe(connection.issuedAt, now: now)),
            ("expires", describe(connection.expiresAt, now: now)),
            ("last refresh", describe(connection.lastRefreshAt, now: now)),
            ("failures", String(connection.failures)),
            ("retry at", describe(connection.retryAt, now: now)),
        ]
        if let reason = connection.reauthReason { lines.append(("needs re-auth", reason)) }
        if let revoked = connection.revokedAt {
            lines.append(
                (
                    "revoked",
                    describe(revoked, now: now) + (connection.revokedAtProvider ? ", at the provider" : ", here only")
                ))
        }
        if let error = connection.lastError {
            lines.append(("last error", error.error))
            lines.append(("  description", error.errorDescription ?? "—"))
            lines.append(("  HTTP status", error.status.map(String.init) ?? "—"))
            if let body = error.bodyPrefix { lines.append(("  body", body)) }
        }
        if let integration {
            lines.append(("token URL", integration.tokenURL.absoluteString))
            lines.append(("revocation URL", integration.revocationURL?.absoluteString ?? "none"))
            lines.append(("client id", integration.clientID))
            lines.append(("client auth", integration.clientAuth.rawValue))
        }
        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { pad($0.0, width) + "  " + $0.1 }.joined(separator: "\n")
        if !history.isEmpty {
            text += "\n\nhistory\n"
            text += history.map { "  \(timestamp($0.at) as? String ?? "")  \($0.kind.rawValue)  \($0.message)" }
                .joined(separator: "\n")
        }
        return text
    }

    // MARK: - Helpers

    private static func describe(_ date: Date?, now: Date) -> String {
        guard let date else { return "—" }
        let delta = date.timeIntervalSince(now)
        let relative = delta >= 0 ? "in \(Countdown.format(delta))" : "\(Countdown.format(-delta)) ago"
        return "\(timestamp(date) as? String ?? "")  (\(relative))"
    }

    /// RFC 3339 in UTC, or JSON null.
    static func timestamp(_ date: Date?) -> Any {
        guard let date else { return NSNull() }
        return RFC3339.string(from: date)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func encode(_ value: Any) -> String {
        let data =
            (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// RFC 3339 timestamps in UTC with whole seconds.
public enum RFC3339 {
    /// Formats `date` as `2026-12-04T15:22:22Z`.
    public static func string(from date: Date) -> String {
        // By hand: ISO8601DateFormatter costs tens of microseconds a call, which adds up over 100,000 rows.
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = Int(parts.tm_year) + 1900
        let yearText =
            year >= 0 && year < 10000 ? String(repeating: "0", count: 4 - String(year).count) + "\(year)" : "\(year)"
        return "\(yearText)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
            + "\(two(parts.tm_sec))Z"
    }
}

/// The countdown format of the dashboard and the CLI: `45s`, `4m05s`, `1h02m`, `3d04h`, `expired`;
/// `—` for no expiry.
public enum Countdown {
    /// The text shown when there is nothing to count down to.
    public static let none = "—"

    /// Formats `seconds` left, or ``none`` when there is no expiry.
    public static func format(_ seconds: Double?) -> String {
        seconds.map { format(seconds: $0) } ?? none
    }

    /// Formats the time left until `deadline`, or ``none`` when there is no deadline.
    public static func format(until deadline: Date?, now: Date) -> String {
        guard let deadline else { return none }
        return format(seconds: deadline.timeIntervalSince(now))
    }

    /// Formats `seconds` left: two units at most, the smaller zero-padded; `expired` at zero or below.
    ///
    /// Partial seconds round up, so a countdown never shows `0s`: it reads `1s`, then `expired`.
    public static func format(seconds: Double) -> String {
        guard seconds > 0 else { return "expired" }
        let total = seconds >= Double(Int.max) ? Int.max : Int(seconds.rounded(.up))
        let days = total / 86_400
        let hours = total % 86_400 / 3_600
        let minutes = total % 3_600 / 60
        let secs = total % 60
        if days > 0 { return "\(days)d\(twoDigits(hours))h" }
        if hours > 0 { return "\(hours)h\(twoDigits(minutes))m" }
        if minutes > 0 { return "\(minutes)m\(twoDigits(secs))s" }
        return "\(secs)s"
    }

    private static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
