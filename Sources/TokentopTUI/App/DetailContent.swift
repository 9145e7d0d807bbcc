import Foundation
import TokentopCore

/// One line of the detail view: pieces of text, each with its role.
struct DetailLine: Equatable {
    var segments: [(text: String, role: ThemeRole)]

    static func == (lhs: DetailLine, rhs: DetailLine) -> Bool {
        lhs.segments.map(\.text) == rhs.segments.map(\.text) && lhs.segments.map(\.role) == rhs.segments.map(\.role)
    }

    var text: String { segments.map(\.text).joined() }
}

/// Every fact about one connection, its integration, its last provider error and its history, as lines.
///
/// Fingerprints only: a `Connection` holds no secret, and nothing here reads one.
struct DetailContent {
    static let labelWidth = 22

    let snapshot: DashboardSnapshot
    let connection: Connection?
    let id: String
    let prompt: ReauthPrompt?
    let now: Date
    /// The user's open requests, so the view says what it waits for.
    let pending: [PendingRequests.Request]
    /// The title's status: the core's, or the open request's.
    let shownStatus: (text: String, role: ThemeRole)?
    /// The snapshot indexes of the connections derived from this one.
    let children: [Int]

    init(dashboard: Dashboard, id: String, now: Date) {
        snapshot = dashboard.snapshot
        connection = dashboard.snapshot.connections.first { $0.id == id }
        self.id = id
        prompt = dashboard.detailPrompt
        self.now = now
        pending = dashboard.pending.requests
        shownStatus = connection.map { dashboard.shownStatus(of: $0, at: now) }
        children = dashboard.rows.childrenByParent[id] ?? []
    }

    func lines(width: Int) -> [DetailLine] {
        guard let connection else {
            return [DetailLine(segments: [("Connection \(id) no longer exists. Esc goes back.", .error)])]
        }
        var builder = Builder(width: width)
        let status = snapshot.status(of: connection, at: now)
        builder.title(connection, status: shownStatus ?? ("\(status.symbol) \(status.rawValue)", .status(status)))
        connectionFacts(connection, status: status, into: &builder)
        staticFacts(connection, into: &builder)
        reauthFacts(connection, status: status, into: &builder)
        integrationFacts(connection, into: &builder)
        errorFacts(connection, into: &builder)
        historyFacts(into: &builder)
        return builder.lines
    }

    private func connectionFacts(_ connection: Connection, status: ConnectionStatus, into builder: inout Builder) {
        builder.section("Connection")
        builder.fact("id", connection.id)
        builder.fact("integration", connection.integrationID)
        builder.fact("provider", snapshot.integrations[connection.integrationID]?.provider ?? "unknown")
        builder.fact("scope", "\(connection.scope.rawValue) (\(connection.scope.title))")
        builder.fact("subject", connection.subject)
        builder.fact("credential", connection.credential.rawValue)
        builder.fact("grant", connection.grant.rawValue)
        builder.fact("status", "\(status.symbol) \(status.rawValue)", role: .status(status))
        delegationFacts(connection, into: &builder)
        workspaceFacts(connection, into: &builder)
        if let request = pending.first(where: { $0.ids.contains(connection.id) }) {
            builder.fact("requested", "\(request.kind.rawValue) at \(TimeText.utc(request.at)), waiting for the result")
        }
        builder.fact(
            "granted scopes",
            connection.grantedScopes.isEmpty
                ? "none"
                : connection.grantedScopes.joined(
                    separator: " "))
        // A revoked connection keeps its tokens' fingerprints, not the tokens: said so, as `show` says it.
        func token(_ fingerprint: String?) -> String {
            guard let fingerprint else { return "none" }
            return connection.revokedAt == nil ? "fingerprint \(fingerprint)" : ConnectionReport.wipedToken(fingerprint)
        }
        builder.fact("access token", token(connection.accessFingerprint))
        builder.fact("refresh token", token(connection.refreshFingerprint))
        builder.fact("issued", TimeText.absoluteAndRelative(connection.issuedAt, now: now))
        builder.fact("expires", expiresText(connection, status: status))
        builder.fact(
            "last refresh",
            connection.lastRefreshAt.map { TimeText.absoluteAndRelative($0, now: now) }
                ?? "never")
        builder.fact("failures", "\(connection.failures)", role: connection.failures > 0 ? .error : .row)
        builder.fact("retry at", TimeText.absoluteAndRelative(connection.retryAt, now: now))
        builder.fact("reauth reason", connection.reauthReason ?? Countdown.none)
        if let revokedAt = connection.revokedAt {
            let place = connection.revokedAtProvider ? "at the provider" : "recorded here only"
            builder.fact("revoked", "\(TimeText.absoluteAndRelative(revokedAt, now: now)), \(place)")
        } else {
            builder.fact("revoked", "no")
        }
        builder.fact("created", TimeText.absoluteAndRelative(connection.createdAt, now: now))
    }

    /// `2026-01-01 01:02:00 UTC (in 1h02m)`; a revoked credential says `revoked` instead of counting down; an
    /// assumed expiry reads `(in ~59m)` and says that the provider gave none.
    private func expiresText(_ connection: Connection, status: ConnectionStatus) -> String {
        guard let date = connection.expiresAt else { return status == .revoked ? "never (revoked)" : "never" }
        let relative =
            status == .revoked
            ? "revoked"
            : date > now
                ? "in \(Countdown.format(until: date, now: now, assumed: connection.expiryAssumed))"
                : "expired \(TimeText.ago(date, now: now))"
        guard connection.expiryAssumed else { return "\(TimeText.utc(date)) (\(relative))" }
        let provider = snapshot.integrations[connection.integrationID]?.provider
        return "\(TimeText.utc(date)) (\(relative)); "
            + ConnectionReport.assumedExpiryPhrase(connection, provider: provider)
    }

    /// A credential that does not expire: how old it is, where it travels, and what its probe said.
    private func staticFacts(_ connection: Connection, into builder: inout Builder) {
        guard !connection.credential.expires else { return }
        builder.section("Static credential")
        if let setAt = connection.secretSetAt {
            builder.fact("secret set", "\(TimeText.utc(setAt)) (\(SecretAge.phrase(since: setAt, now: now)))")
        } else {
            builder.fact("secret set", "unknown")
        }
        let integration = snapshot.integrations[connection.integrationID]
        switch (connection.credential, integration?.apiKeyPlacement) {
        case (.basic, _): builder.fact("sent as", "Authorization: Basic (user:password)")
        case (.appKey, _): builder.fact("sent as", "never sent: the key signs assertions")
        case (_, nil): builder.fact("sent as", "Authorization: Bearer")
        case (_, let placement?):
            builder.fact("sent as", "\(placement.location == .header ? "header" : "query parameter") \(placement.name)")
        }
        guard let integration, let url = integration.probeURL else {
            builder.fact("probe", "none: the integration has no probe URL")
            return
        }
        let policy = ProbePolicy.standard
        builder.fact(
            "probe URL", "\(url.absoluteString), every \(Countdown.format(seconds: policy.interval(for: integration)))")
        if let probe = connection.probe {
            let verdict = probe.ok ? "✓ ok" : "✗ failed"
            builder.fact(
                "last probe", "\(verdict): \(probe.detail), \(TimeText.ago(probe.at, now: now))",
                role: probe.ok ? .status(.static) : .error)
        } else {
            builder.fact("last probe", "not yet")
        }
        if let due = policy.dueAt(connection, integration: integration) {
            builder.fact("next probe", due <= now ? "now" : TimeText.relative(due, now: now))
        }
    }

    private func reauthFacts(_ connection: Connection, status: ConnectionStatus, into builder: inout Builder) {
        guard status.needsHuman || prompt != nil || connection.reauthReason != nil else { return }
        builder.section("Re-authorization")
        builder.fact("who must act", prompt?.who ?? connection.scope.reauthActor, role: .error)
        builder.fact(
            "why", prompt?.reason ?? connection.reauthReason ?? "the credential expired and nothing can renew it")
        if let url = prompt?.url { builder.fact("start at", url) }
    }

    private func integrationFacts(_ connection: Connection, into builder: inout Builder) {
        builder.section("Integration \(connection.integrationID)")
        guard let integration = snapshot.integrations[connection.integrationID] else {
            builder.fact("missing", "the snapshot has no integration with this id", role: .error)
            return
        }
        builder.fact("provider", integration.provider)
        builder.fact("client id", integration.clientID)
        builder.fact("client auth", integration.clientAuth.rawValue)
        builder.fact("client secret", integration.secretFingerprint.map { "fingerprint \($0)" } ?? "none")
        builder.fact("token URL", integration.tokenURL.absoluteString)
        builder.fact(
            "revocation URL", integration.revocationURL?.absoluteString ?? "none (revocation is recorded here only)")
        builder.fact("redirect URI", integration.redirectURI ?? "none")
        builder.fact(
            "requested scopes", integration.scopes.isEmpty ? "none" : integration.scopes.joined(separator: " "))
    }

    private func errorFacts(_ connection: Connection, into builder: inout Builder) {
        builder.section("Last provider error")
        guard let error = connection.lastError else {
            builder.fact("error", "none")
            return
        }
        builder.fact("error", error.error, role: .error)
        builder.fact("error_description", error.errorDescription ?? "none")
        builder.fact("HTTP status", error.status.map(String.init) ?? "none (no answer arrived)")
        builder.fact("kind", error.kind.rawValue)
        if let retryAfter = error.retryAfter { builder.fact("retry after", Countdown.format(seconds: retryAfter)) }
        if let body = error.bodyPrefix {
            // Line breaks in the body become visible marks so that one fact stays one block.
            builder.fact(
                "body prefix",
                body.replacingOccurrences(of: "\r\n", with: "↵").replacingOccurrences(
                    of: "\n", with: "↵"))
        }
    }

    private func historyFacts(into builder: inout Builder) {
        builder.section("History")
        guard let history = snapshot.histories[id] else {
            builder.plain("loading…")
            return
        }
        if history.isEmpty { builder.plain("no entries") }
        for entry in history.reversed() {
            let role: ThemeRole = entry.error == nil ? .event : .error
            var text = "\(entry.kind.rawValue.padded(toWidth: 16)) \(entry.message)"
            if let error = entry.error, !entry.message.contains(error.error) { text += " — \(error.summary)" }
            builder.entry(TimeText.utc(entry.at), text, role: role)
        }
    }
}

extension DetailContent {
    /// Lays facts out as `label  value` lines, wrapping long values under their value column.
    struct Builder {
        let width: Int
        var lines: [DetailLine] = []

        mutating func title(_ connection: Connection, status: (text: String, role: ThemeRole)) {
            lines.append(
                DetailLine(segments: [
                    (" \(connection.id)  ", .header), (status.text, status.role),
                    ("  \(connection.scope.title) · \(connection.subject)", .header),
                ]))
        }

        mutating func section(_ name: String) {
            lines.append(DetailLine(segments: []))
            lines.append(DetailLine(segments: [(" \(name)", .groupHeader)]))
        }

        mutating func plain(_ text: String) {
            lines.append(DetailLine(segments: [("   \(text)", .row)]))
        }

        mutating func fact(_ label: String, _ value: String, role: ThemeRole = .row) {
            wrapped(label: "   " + label.padded(toWidth: DetailContent.labelWidth - 3) + " ", value, role: role)
        }

        mutating func entry(_ time: String, _ text: String, role: ThemeRole) {
            wrapped(label: "   \(time)  ", text, role: role)
        }

        /// Breaks `value` after the last space that fits, or inside a word longer than a line; every character of
        /// the value is kept, so provider text stays verbatim.
        private mutating func wrapped(label: String, _ value: String, role: ThemeRole) {
            let indent = label.displayWidth
            let room = max(10, width - indent - 1)
            var chunks: [String] = []
            var current = ""
            for character in value {
                if current.displayWidth + character.displayWidth > room {
                    if let space = current.lastIndex(of: " "), space > current.startIndex {
                        let rest = current[current.index(after: space)...]
                        chunks.append(String(current[...space]))
                        current = String(rest)
                    } else {
                        chunks.append(current)
                        current = ""
                    }
                }
                current.append(character)
            }
            chunks.append(current)
            for (index, chunk) in chunks.enumerated() {
                let prefix = index == 0 ? label : String(repeating: " ", count: indent)
                lines.append(DetailLine(segments: [(prefix, .label), (chunk, role)]))
            }
        }
    }
}
