import Foundation

/// The stable, documented JSON and text shapes of `tokentop list` and `tokentop show`. Never a secret.
public enum ConnectionReport {
    /// The fields of one connection's JSON object, with the names `list --json` promises, sorted by name.
    static func fields(
        _ connection: Connection, integration: Integration?, status: ConnectionStatus, at now: Date,
        block: ParentBlock? = nil
    ) -> [(String, JSONWriter.Value)] {
        let lastError: [(String, JSONWriter.Value)]? = connection.lastError.map { error in
            [
                ("body_prefix", .string(error.bodyPrefix)), ("error", .string(error.error)),
                ("error_description", .string(error.errorDescription)), ("kind", .string(error.kind.rawValue)),
                ("status", .int(error.status)),
            ]
        }
        let probe: [(String, JSONWriter.Value)]? = connection.probe.map { probe in
            [("at", .string(timestamp(probe.at))), ("detail", .string(probe.detail)), ("ok", .bool(probe.ok))]
        }
        let fields: [(String, JSONWriter.Value)] = [
            ("access_fingerprint", .string(connection.accessFingerprint)),
            ("blocked_by_parent", .object(blockFields(block))),
            ("credential", .string(connection.credential.rawValue)),
            ("expires_at", .string(timestamp(connection.expiresAt))),
            ("expiry_assumed", .bool(connection.expiryAssumed)),
            ("failures", .int(connection.failures)),
            ("grant", .string(connection.grant.rawValue)),
            ("granted_scopes", .strings(connection.grantedScopes)),
            ("id", .string(connection.id)),
            ("integration", .string(connection.integrationID)),
            ("issued_at", .string(timestamp(connection.issuedAt))),
            ("last_error", .object(lastError)),
            ("last_refresh_at", .string(timestamp(connection.lastRefreshAt))),
            ("members", .strings(connection.members)),
            ("overdue", .bool(connection.isOverdue(at: now, status: status))),
            ("parent", .string(connection.parentID)),
            ("probe", .object(probe)),
            ("provider", .string(integration?.provider)),
            ("reauth_reason", .string(connection.reauthReason)),
            ("refresh_fingerprint", .string(connection.refreshFingerprint)),
            ("retry_at", .string(timestamp(connection.retryAt))),
            ("revoked_at", .string(timestamp(connection.revokedAt))),
            ("revoked_at_provider", .bool(connection.revokedAtProvider)),
            ("scope", .string(connection.scope.rawValue)),
            // The age of a static secret; an expiring token's lifetime is its expiry.
            ("secret_set_at", .string(connection.credential.expires ? nil : timestamp(connection.secretSetAt))),
            ("status", .string(status.rawValue)),
            ("subject", .string(connection.subject)),
            ("workspace", .string(connection.workspace)),
        ]
        return fields
    }

    /// `list --json`: one JSON array, keys sorted, one element per line.
    public static func json(_ snapshot: DashboardSnapshot, connections: [Connection], at now: Date) -> String {
        var text = ""
        json(snapshot, connections: connections, at: now) { text += $0 }
        return text
    }

    /// `list --json` handed to `write` in pieces of whole lines, each of at most `piece` connections, as it is
    /// built: at 100,000 connections the whole document, built and copied before it was written, made `list --json`
    /// peak at 234 MB.
    public static func json(
        _ snapshot: DashboardSnapshot, connections: [Connection], at now: Date, piece: Int = 1_000,
        write: (String) -> Void
    ) {
        var writer = JSONWriter()
        writer.raw("[")
        for (index, connection) in connections.enumerated() {
            if index > 0, index % piece == 0 {
                write(String(decoding: writer.bytes, as: UTF8.self))
                writer = JSONWriter()
            }
            writer.raw(index == 0 ? "\n" : ",\n")
            let status = snapshot.status(of: connection, at: now)
            writer.object(
                fields(
                    connection, integration: snapshot.integrations[connection.integrationID], status: status,
                    at: now, block: snapshot.parentBlock(of: connection, at: now)))
        }
        writer.raw(connections.isEmpty ? "]" : "\n]")
        write(String(decoding: writer.bytes, as: UTF8.self))
    }

    /// `show ID --json`: the connection's object, its integration (without secrets) and its history.
    public static func detailJSON(
        _ connection: Connection, snapshot: DashboardSnapshot, history: [HistoryEntry], at now: Date
    ) -> String {
        let integration = snapshot.integrations[connection.integrationID]
        var result = fields(
            connection, integration: integration, status: snapshot.status(of: connection, at: now), at: now,
            block: snapshot.parentBlock(of: connection, at: now))
        result.append(("children", .strings(snapshot.children(of: connection.id))))
        let detail: [(String, JSONWriter.Value)]? = integration.map { integration in
            [
                ("api_key_in", .string(integration.apiKeyPlacement?.location.rawValue)),
                ("api_key_name", .string(integration.apiKeyPlacement?.name)),
                ("authorization_url", .string(integration.authorizationURL?.absoluteString)),
                ("client_auth", .string(integration.clientAuth.rawValue)), ("client_id", .string(integration.clientID)),
                ("device_authorization_url", .string(integration.deviceAuthorizationURL?.absoluteString)),
                ("id", .string(integration.id)),
                (
                    "probe_interval",
                    .int(integration.probeInterval.map { Countdown.wholeSeconds($0, .toNearestOrAwayFromZero) })
                ),
                ("probe_url", .string(integration.probeURL?.absoluteString)),
                ("provider", .string(integration.provider)),
                ("revocation_url", .string(integration.revocationURL?.absoluteString)),
                ("secret_fingerprint", .string(integration.secretFingerprint)),
                ("secret_kind", .string(integration.secretKind.rawValue)),
                ("token_url", .string(integration.tokenURL.absoluteString)),
            ]
        }
        result.append(
            (
                "history",
                .objects(
                    history.map { entry in
                        [
                            ("at", .string(timestamp(entry.at))), ("kind", .string(entry.kind.rawValue)),
                            ("message", .string(entry.message)),
                        ]
                    })
            ))
        result.append(("integration_detail", .object(detail)))
        result.sort { $0.0 < $1.0 }
        var writer = JSONWriter()
        writer.object(result)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// A token's line in `show`: its fingerprint, or for a revoked connection that the token is gone.
    private static func tokenLine(_ fingerprint: String?, revoked: Bool) -> String {
        guard let fingerprint else { return "—" }
        return revoked ? wipedToken(fingerprint) : fingerprint
    }

    /// A revoked connection's token: erased, but its fingerprint kept to say which one was revoked.
    public static func wipedToken(_ fingerprint: String) -> String {
        "none (wiped when revoked; it was \(fingerprint))"
    }

    /// `list`: an aligned text table, one row per connection.
    public static func table(_ snapshot: DashboardSnapshot, connections: [Connection], at now: Date) -> String {
        var rows = [["ID", "SCOPE", "STATUS", "PROVIDER", "SUBJECT", "EXPIRES", "FAILURES"]]
        for connection in connections {
            let status = snapshot.status(of: connection, at: now)
            rows.append([
                // The dashboard's mark for a failed probe, so that a key that stopped working shows here too.
                connection.id, connection.scope.rawValue, status.rawValue + (connection.probeFailed ? " ✗" : ""),
                snapshot.integrations[connection.integrationID]?.provider ?? "?", connection.subject,
                // A revoked credential counts down to nothing, as the dashboard shows it.
                status == .revoked
                    ? Countdown.none
                    : !connection.credential.expires
                        ? connection.secretSetAt.map { SecretAge.short(since: $0, now: now) } ?? Countdown.none
                        : Countdown.format(
                            until: connection.expiresAt, now: now, assumed: connection.expiryAssumed),
                String(connection.failures),
            ])
        }
        // Terminal cells, not characters: a CJK name or an emoji takes two, a combining mark none.
        let widths = rows[0].indices.map { column in rows.map { $0[column].displayWidth }.max() ?? 0 }
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
            // Revoking wipes the tokens; the fingerprints stay only to say which ones they were.
            ("access token", tokenLine(connection.accessFingerprint, revoked: connection.revokedAt != nil)),
            ("refresh token", tokenLine(connection.refreshFingerprint, revoked: connection.revokedAt != nil)),
            ("issued", describe(connection.issuedAt, now: now)),
            (
                "expires",
                describe(connection.expiresAt, now: now)
                    + (connection.expiryAssumed
                        ? "; " + assumedExpiryPhrase(connection, provider: integration?.provider) : "")
            ),
            ("last refresh", describe(connection.lastRefreshAt, now: now)),
            ("failures", String(connection.failures)),
            ("retry at", describe(connection.retryAt, now: now)),
        ]
        lines += delegationLines(connection, snapshot: snapshot, at: now)
        if let workspace = connection.workspace { lines.append(("workspace", workspace)) }
        if !connection.members.isEmpty { lines.append(("members", connection.members.joined(separator: ", "))) }
        if let set = connection.secretSetAt, !connection.credential.expires {
            lines.append(("secret set", "\(timestamp(set) ?? "")  (\(SecretAge.phrase(since: set, now: now)))"))
        }
        if let probe = connection.probe {
            lines.append(("probe", "\(probe.ok ? "ok" : "failed"): \(probe.detail), \(describe(probe.at, now: now))"))
        }
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
            lines.append(("authorization URL", integration.authorizationURL?.absoluteString ?? "none"))
            lines.append(("device auth URL", integration.deviceAuthorizationURL?.absoluteString ?? "none"))
            lines.append(("probe URL", integration.probeURL?.absoluteString ?? "none"))
            lines.append(("probe interval", integration.probeInterval.map { Countdown.format(seconds: $0) } ?? "—"))
            if let placement = integration.apiKeyPlacement {
                lines.append(("API key in", "\(placement.location.rawValue) \(placement.name)"))
            }
        }
        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { pad($0.0, width) + "  " + $0.1 }.joined(separator: "\n")
        if !history.isEmpty {
            text += "\n\nhistory\n"
            text += history.map { "  \(timestamp($0.at) ?? "")  \($0.kind.rawValue)  \($0.message)" }
                .joined(separator: "\n")
        }
        return text
    }

    // MARK: - Helpers

    /// Why an expiry is only an estimate: `expiry unknown; assumed 1h00m from tokentop's default`.
    /// - Parameter provider: the integration's provider, to name whose default lifetime stood in.
    public static func assumedExpiryPhrase(_ connection: Connection, provider: String?) -> String {
        var lifetime = ""
        if let start = connection.issuedAt ?? connection.lastRefreshAt, let end = connection.expiresAt {
            lifetime = Countdown.format(seconds: end.timeIntervalSince(start)) + " "
        }
        let documented = provider.flatMap { CatalogDefaults.catalog?.profile(id: $0)?.defaultAccessTokenLifetime }
        let source =
            (documented ?? 0) > 0
            ? "the provider's documented default" : "tokentop's default for providers that do not say"
        return "expiry unknown (the provider's answer gave none); assumed \(lifetime)from \(source)"
    }

    private static func describe(_ date: Date?, now: Date) -> String {
        guard let date else { return "—" }
        let delta = date.timeIntervalSince(now)
        let relative = delta >= 0 ? "in \(Countdown.format(delta))" : "\(Countdown.format(-delta)) ago"
        return "\(timestamp(date) ?? "")  (\(relative))"
    }

    /// RFC 3339 in UTC, or JSON null.
    static func timestamp(_ date: Date?) -> String? {
        date.map(RFC3339.string(from:))
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.displayWidth))
    }
}

/// RFC 3339 timestamps in UTC with whole seconds.
public enum RFC3339 {
    /// Formats `date` as `2026-12-04T15:22:22Z`.
    public static func string(from date: Date) -> String {
        // By hand: ISO8601DateFormatter costs tens of microseconds a call, which adds up over 100,000 rows.
        var seconds = time_t(epochSeconds(date))
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "" }
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = Int(parts.tm_year) + 1900
        let yearText =
            year >= 0 && year < 10000 ? String(repeating: "0", count: 4 - String(year).count) + "\(year)" : "\(year)"
        return "\(yearText)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
            + "\(two(parts.tm_sec))Z"
    }

    /// The first second RFC 3339 writes, 0000-01-01T00:00:00Z, in seconds since 1970.
    public static let earliest: Double = -62_167_219_200
    /// The last second RFC 3339 writes, 9999-12-31T23:59:59Z, in seconds since 1970.
    public static let latest: Double = 253_402_300_799

    /// Whole seconds since 1970, clamped to ``earliest``...``latest`` (not a number reads as 1970): a date edited
    /// into a database must print as some date, never trap a conversion to an integer.
    public static func epochSeconds(_ date: Date) -> Int {
        let seconds = date.timeIntervalSince1970
        guard !seconds.isNaN else { return 0 }
        return Int(min(max(seconds, earliest), latest).rounded(.down))
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

    /// The mark before a countdown to an assumed expiry (`~59m`): the provider gave none, so it is an estimate.
    public static let assumedMark = "~"

    /// Formats the time left until `deadline`; an `assumed` deadline that is still ahead reads `~59m`.
    public static func format(until deadline: Date?, now: Date, assumed: Bool) -> String {
        let text = format(until: deadline, now: now)
        guard assumed, let deadline, deadline > now else { return text }
        return assumedMark + text
    }

    /// Formats `seconds` left: two units at most, the smaller zero-padded; `expired` at zero or below.
    ///
    /// Partial seconds round up, so a countdown never shows `0s`: it reads `1s`, then `expired`.
    public static func format(seconds: Double) -> String {
        guard seconds > 0 else { return "expired" }
        let total = wholeSeconds(seconds, .up)
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

    /// The most seconds a countdown or an age counts, about 31 million years: more than any two dates apart.
    public static let longest: Double = 1e15

    /// `seconds` rounded by `rule` to an integer within ±``longest`` (not a number reads as zero), so that an
    /// out-of-range date edited into a database never traps a conversion to an integer.
    public static func wholeSeconds(_ seconds: Double, _ rule: FloatingPointRoundingRule = .down) -> Int {
        guard !seconds.isNaN else { return 0 }
        return Int(min(max(seconds, -longest), longest).rounded(rule))
    }
}
