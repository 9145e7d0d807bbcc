import Foundation
import TokentopCore

@testable import TokentopTUI

/// Connections in every scope and status, at fixed times relative to ``TestClock/start``.
enum Fixtures {
    static let now = TestClock.start
    static let databasePath = "/home/op/.local/share/tokentop/tokentop.sqlite3"

    /// A fake token whose fingerprint the detail view shows; the token itself must never appear.
    static let aliceAccessToken = Secret("fake-access-token-0001-alice")
    static let aliceRefreshToken = Secret("fake-refresh-token-0001-alice")

    static func at(_ seconds: Double) -> Date { now.addingTimeInterval(seconds) }

    static let integrations: [String: Integration] = [
        "github-oauth": Integration(
            id: "github-oauth", provider: "github", tokenURL: URL(string: "https://github.example/login/oauth/token")!,
            revocationURL: URL(string: "https://github.example/applications/revoke")!, clientID: "Iv1.fakeclient",
            clientAuth: .clientSecretBasic, scopes: ["repo", "read:user"], redirectURI: "http://127.0.0.1:8765/cb",
            secretFingerprint: "…5e1f00aa"),
        "google-dwd": Integration(
            id: "google-dwd", provider: "google", tokenURL: URL(string: "https://oauth2.google.example/token")!,
            revocationURL: URL(string: "https://oauth2.google.example/revoke")!, clientID: "svc@fake.example",
            clientAuth: .none, scopes: ["https://www.googleapis.com/auth/drive.readonly"]),
        "slack-app": Integration(
            id: "slack-app", provider: "slack", tokenURL: URL(string: "https://slack.example/api/oauth.v2.access")!,
            clientID: "fake.slack.client", clientAuth: .clientSecretPost, scopes: ["chat:write"]),
        "stripe-key": Integration(
            id: "stripe-key", provider: "stripe", tokenURL: URL(string: "https://stripe.example/none")!,
            clientID: "acct_fake", clientAuth: .none),
        "notion-int": Integration(
            id: "notion-int", provider: "notion", tokenURL: URL(string: "https://notion.example/v1/oauth/token")!,
            clientID: "fake-notion", clientAuth: .clientSecretBasic),
    ]

    static let connections: [Connection] = [
        // User
        Connection(
            id: "gh-alice", integrationID: "github-oauth", scope: .user, subject: "alice@example.com",
            credential: .oauth2, grant: .refreshToken, grantedScopes: ["repo", "read:user"],
            accessFingerprint: aliceAccessToken.fingerprint, refreshFingerprint: aliceRefreshToken.fingerprint,
            issuedAt: at(-3_600), expiresAt: at(3_720), lastRefreshAt: at(-120), createdAt: at(-86_400 * 30)),
        Connection(
            id: "gh-zoe", integrationID: "github-oauth", scope: .user, subject: "zoë@example.com",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "…0badf00d", refreshFingerprint: "…1badf00d",
            issuedAt: at(-3_555), expiresAt: at(45), lastRefreshAt: at(-3_555), createdAt: at(-86_400)),
        Connection(
            id: "slack-carol", integrationID: "slack-app", scope: .user, subject: "carol@example.com",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "xoxp…77aa1100",
            refreshFingerprint: "xoxe…77aa1101", issuedAt: at(-7_200), expiresAt: at(-600), lastRefreshAt: at(-7_200),
            failures: 1,
            lastError: ProviderError(
                kind: .invalidGrant, error: "invalid_grant", errorDescription: "Token has been expired or revoked.",
                status: 400, bodyPrefix: "{\"ok\":false,\"error\":\"invalid_grant\"}"),
            reauthReason: "invalid_grant: Token has been expired or revoked.", createdAt: at(-86_400 * 3)),
        // Org
        Connection(
            id: "stripe-acme", integrationID: "stripe-key", scope: .org, subject: "org_acme", credential: .apiKey,
            grant: .none, accessFingerprint: "sk_t…9f8e7d6c", createdAt: at(-86_400 * 90)),
        Connection(
            id: "gh-org-acme", integrationID: "github-oauth", scope: .org, subject: "acme-corp", credential: .oauth2,
            grant: .clientCredentials, accessFingerprint: "…c0ffee00", issuedAt: at(-86_400),
            expiresAt: at(273_600), lastRefreshAt: at(-86_400), createdAt: at(-86_400 * 10)),
        // Delegated
        Connection(
            id: "gws-dave", integrationID: "google-dwd", scope: .delegated, subject: "dave@corp.example",
            credential: .oauth2, grant: .jwtBearer, accessFingerprint: "ya29…0d0d0d0d", issuedAt: at(-3_600),
            expiresAt: at(245), lastRefreshAt: at(-3_600), failures: 2,
            lastError: ProviderError(
                kind: .transient, error: "server_error", errorDescription: "backend unavailable", status: 503),
            retryAt: at(20), createdAt: at(-86_400 * 5)),
        // Workspace
        Connection(
            id: "notion-ws", integrationID: "notion-int", scope: .workspace, subject: "ws-design",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "…abab1212", issuedAt: at(-90_000),
            expiresAt: at(-3_600), lastRefreshAt: nil, createdAt: at(-90_000)),
        Connection(
            id: "linear-ws", integrationID: "notion-int", scope: .workspace, subject: "ws-eng", credential: .basic,
            grant: .none, accessFingerprint: "…3434cdcd", createdAt: at(-86_400 * 2)),
        // Bot
        Connection(
            id: "ghapp-inst-678", integrationID: "github-oauth", scope: .bot, subject: "app 12345 / installation 678",
            credential: .oauth2, grant: .githubAppInstallation, accessFingerprint: "ghs_…99887766",
            issuedAt: at(-900), expiresAt: at(2_700), lastRefreshAt: at(-900), createdAt: at(-86_400 * 7)),
        Connection(
            id: "slack-bot", integrationID: "slack-app", scope: .bot, subject: "B0FAKEBOT", credential: .botToken,
            grant: .none, accessFingerprint: "xoxb…55443322", revokedAt: at(-300), revokedAtProvider: true,
            createdAt: at(-86_400 * 4)),
    ]

    static let events: [HistoryEntry] = [
        HistoryEntry(at: at(-3_600), connectionID: "gws-dave", kind: .refreshed, message: "token refreshed"),
        HistoryEntry(at: at(-900), connectionID: "ghapp-inst-678", kind: .refreshed, message: "installation token"),
        HistoryEntry(
            at: at(-600), connectionID: "slack-carol", kind: .needsReauth,
            message: "provider refused the grant: invalid_grant",
            error: ProviderError(kind: .invalidGrant, error: "invalid_grant", status: 400)),
        HistoryEntry(at: at(-300), connectionID: "slack-bot", kind: .revoked, message: "revoked at the provider"),
        HistoryEntry(at: at(-120), connectionID: "gh-alice", kind: .refreshed, message: "token refreshed"),
        HistoryEntry(
            at: at(-20), connectionID: "gws-dave", kind: .refreshFailed,
            message: "refresh failed: server_error (HTTP 503)",
            error: ProviderError(kind: .transient, error: "server_error", status: 503)),
    ]

    static func snapshot(
        connections: [Connection] = connections, notice: String? = nil, outages: [ProviderOutage] = []
    ) -> DashboardSnapshot {
        DashboardSnapshot(
            version: 1, databasePath: databasePath, connections: connections, integrations: integrations,
            inFlight: ["ghapp-inst-678"], events: events, nextDue: at(20), notice: notice, outages: outages)
    }

    /// A backend, a dashboard on it and a grid screen of `columns` × `rows`, ready to run frames.
    static func harness(
        columns: Int = 120, rows: Int = 40, snapshot: DashboardSnapshot = snapshot(),
        prompts: [String: ReauthPrompt] = [:], environment: [String: String] = [:]
    ) -> Harness {
        Harness(columns: columns, rows: rows, snapshot: snapshot, prompts: prompts, environment: environment)
    }
}

/// The real dashboard, loop and renderer on a ``GridScreen`` and a ``TestBackend``.
final class Harness {
    let backend: TestBackend
    let screen: GridScreen
    let dashboard: Dashboard
    let loop: DashboardLoop

    init(
        columns: Int, rows: Int, snapshot: DashboardSnapshot, prompts: [String: ReauthPrompt],
        environment: [String: String]
    ) {
        backend = TestBackend(snapshot: snapshot, prompts: prompts)
        screen = GridScreen(columns: columns, rows: rows)
        dashboard = Dashboard(backend: backend, size: screen.size)
        // The theme is the real built-in one, loaded as the executable loads it.
        let theme = (try? Theme.load(name: "default", directory: nil, environment: environment)) ?? .builtIn
        loop = DashboardLoop(dashboard: dashboard, screen: screen, renderer: DashboardRenderer(theme: theme))
    }

    /// Sends `keys` through the real loop and returns the screen after the last one was handled.
    @discardableResult
    func press(_ keys: Key...) -> [String] {
        press(keys)
    }

    @discardableResult
    func press(_ keys: [Key]) -> [String] {
        screen.keys += keys
        loop.run(maxIterations: loop.iterations + keys.count + 1)
        return screen.text
    }

    /// Sends raw terminal input (nil: a pause longer than the escape delay) through the real loop and its key
    /// decoder, one read per frame, and returns the screen once all of it was read.
    @discardableResult
    func send(_ input: [TerminalInput?]) -> [String] {
        screen.input += input
        while screen.hasUnreadInput, !dashboard.shouldQuit {
            loop.run(maxIterations: loop.iterations + 2)
        }
        return screen.text
    }

    /// Sends `text` as a terminal delivers it, escape sequences included.
    @discardableResult
    func send(_ text: String) -> [String] { send(TerminalInput.characters(text)) }

    /// Types `text` one character at a time.
    @discardableResult
    func type(_ text: String) -> [String] {
        press(text.map { Key.character($0) })
    }

    /// Draws one frame without any key.
    @discardableResult
    func frame() -> [String] {
        loop.run(maxIterations: loop.iterations + 1)
        return screen.text
    }

    var text: String { screen.text.joined(separator: "\n") }

    /// The table's lines: below the column titles, above the event pane.
    var tableLines: [String] {
        let lines = screen.text
        guard let titles = lines.firstIndex(where: { $0.contains("STATUS") }),
            let events = lines.firstIndex(where: { $0.hasPrefix("─ Events") })
        else { return [] }
        return Array(lines[titles + 1..<events])
    }

    /// Whether the table shows connection `id`.
    func tableShows(_ id: String) -> Bool { tableLines.contains { $0.contains(" \(id) ") } }

    /// The screen line that contains `needle`, or nil.
    func line(containing needle: String) -> String? { screen.text.first { $0.contains(needle) } }
}
