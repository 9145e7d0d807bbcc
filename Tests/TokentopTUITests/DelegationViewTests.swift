import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// The Delegated group as trees (parent grants with their derived tokens, and delegated JWT bearer tokens beneath
/// the key that mints them), workspaces as sub-headings, and what the detail view says about both.
@Suite struct DelegationViewTests {
    static func at(_ seconds: Double) -> Date { Fixtures.at(seconds) }

    static let integrations: [String: Integration] = Fixtures.integrations.merging([
        "entra": Integration(
            id: "entra", provider: "microsoft", tokenURL: URL(string: "https://login.entra.example/token")!,
            clientID: "fake-middle-tier", clientAuth: .clientSecretPost, scopes: ["https://graph.example/.default"]),
        "okta-sts": Integration(
            id: "okta-sts", provider: "okta", tokenURL: URL(string: "https://sts.okta.example/token")!,
            clientID: "fake-exchanger", clientAuth: .clientSecretBasic, audiences: ["api://orders"]),
    ]) { $1 }

    static func connection(
        _ id: String, _ integration: String, _ scope: IdentityScope, _ subject: String, grant: GrantKind,
        parent: String? = nil, expiresIn: Double = 3_000, change: (inout Connection) -> Void = { _ in }
    ) -> Connection {
        var connection = Connection(
            id: id, integrationID: integration, scope: scope, subject: subject, credential: .oauth2, grant: grant,
            accessFingerprint: "fake…\(id.count)", refreshFingerprint: grant == .refreshToken ? "fake…r" : nil,
            issuedAt: at(-600), expiresAt: at(expiresIn), lastRefreshAt: at(-600), createdAt: at(-86_400),
            parentID: parent)
        change(&connection)
        return connection
    }

    /// A delegated admin grant with two derived tokens, a user's token with a derived token in the Delegated group,
    /// two domain-wide delegation tokens, and two workspaces.
    static func connections(adminBroken: Bool = false) -> [Connection] {
        [
            connection("gh-alice", "github-oauth", .user, "alice@example.com", grant: .refreshToken),
            connection("acme-admin", "entra", .delegated, "admin@acme.example", grant: .refreshToken) {
                guard adminBroken else { return }
                $0.failures = 1
                $0.lastError = ProviderError(
                    kind: .invalidGrant, error: "invalid_grant", errorDescription: "AADSTS70008: expired", status: 400)
                $0.reauthReason = "the provider refused the grant"
            },
            connection("gws-bob", "google-dwd", .delegated, "bob@corp.example", grant: .jwtBearer),
            connection("gws-dave", "google-dwd", .delegated, "dave@corp.example", grant: .jwtBearer),
            connection(
                "obo-graph", "entra", .delegated, "admin@acme.example", grant: .onBehalfOf, parent: "acme-admin"),
            connection(
                "obo-mail", "entra", .delegated, "admin@acme.example", grant: .onBehalfOf, parent: "acme-admin"),
            connection(
                "tx-orders", "okta-sts", .delegated, "alice@example.com", grant: .tokenExchange, parent: "gh-alice"),
            connection("notion-design", "notion-int", .workspace, "ws-design", grant: .refreshToken) {
                $0.workspace = "Design"
                $0.members = ["ann@example.com", "bo@example.com"]
            },
            connection("figma-design", "notion-int", .workspace, "team-42", grant: .refreshToken) {
                $0.workspace = "Design"
                $0.members = ["bo@example.com", "cy@example.com"]
            },
            connection("linear-eng", "notion-int", .workspace, "ws-eng", grant: .refreshToken),
        ]
    }

    static func harness(adminBroken: Bool = false, rows: Int = 40) -> Harness {
        let snapshot = DashboardSnapshot(
            version: 1, databasePath: Fixtures.databasePath, connections: connections(adminBroken: adminBroken),
            integrations: integrations, events: [], nextDue: at(20))
        return Fixtures.harness(rows: rows, snapshot: snapshot)
    }

    /// The table's lines from the Delegated header on, trimmed to the status and connection columns.
    static func tree(_ harness: Harness, scope: String = "Delegated") -> [String] {
        let lines = harness.tableLines
        guard let start = lines.firstIndex(where: { $0.hasPrefix("\(scope) (") }) else { return [] }
        return lines[start...].prefix { !$0.isEmpty }.map { String($0.prefix(44)).trimmingTrailingSpaces }
    }

    @Test func theDelegatedGroupShowsParentsWithTheirChildrenAndKeysWithTheirUsers() {
        let harness = Self.harness()
        harness.frame()
        #expect(
            Self.tree(harness).prefix(10) == [
                "Delegated (6)",
                " ● healthy      acme-admin",
                " ● healthy      ├─ obo-graph",
                " ● healthy      └─ obo-mail",
                "  google-dwd · key of svc@fake.example (2)",
                " ● healthy      ├─ gws-bob",
                " ● healthy      └─ gws-dave",
                " ● healthy      gh-alice (user)",
                " ● healthy      └─ tx-orders",
                "Workspace (3)",
            ])
    }

    @Test func aConnectionThatChangesParentMovesInTheTreeOnTheNextSnapshot() {
        let harness = Self.harness()
        harness.frame()
        // Same ids, scopes and places: only the tree differs, which the kept row order must notice.
        harness.backend.publish { snapshot in
            let position = snapshot.connections.firstIndex { $0.id == "obo-mail" }!
            snapshot.connections[position].parentID = "gh-alice"
        }
        harness.frame()
        #expect(
            Self.tree(harness).prefix(10) == [
                "Delegated (6)",
                " ● healthy      acme-admin",
                " ● healthy      └─ obo-graph",
                "  google-dwd · key of svc@fake.example (2)",
                " ● healthy      ├─ gws-bob",
                " ● healthy      └─ gws-dave",
                " ● healthy      gh-alice (user)",
                " ● healthy      ├─ obo-mail",
                " ● healthy      └─ tx-orders",
                "Workspace (3)",
            ])
    }

    @Test func aTokenMintedUnderAnotherKeyMovesToThatKeysHeadingOnTheNextSnapshot() {
        let harness = Self.harness()
        harness.frame()
        harness.backend.publish { snapshot in
            snapshot.integrations["google-dwd-eu"] = Integration(
                id: "google-dwd-eu", provider: "google", tokenURL: URL(string: "https://oauth2.google.example/token")!,
                clientID: "eu@fake.example", clientAuth: .none, scopes: ["read"], secretKind: .privateKey)
        }
        harness.frame()
        // Same ids, scopes, grants, parents and integrations: only the one whose key mints gws-dave differs.
        harness.backend.publish { snapshot in
            let position = snapshot.connections.firstIndex { $0.id == "gws-dave" }!
            snapshot.connections[position].integrationID = "google-dwd-eu"
        }
        harness.frame()
        #expect(
            Self.tree(harness).prefix(9) == [
                "Delegated (6)",
                " ● healthy      acme-admin",
                " ● healthy      ├─ obo-graph",
                " ● healthy      └─ obo-mail",
                "  google-dwd · key of svc@fake.example (1)",
                " ● healthy      └─ gws-bob",
                "  google-dwd-eu · key of eu@fake.example (1)",
                " ● healthy      └─ gws-dave",
                " ● healthy      gh-alice (user)",
            ])
    }

    @Test func theFilterMatchesTheParentID() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("gh-ali")
        let shown = harness.dashboard.rows.rows.compactMap { row -> String? in
            guard case .connection(let index) = row else { return nil }
            return harness.dashboard.snapshot.connections[index].id
        }
        #expect(shown == ["gh-alice", "tx-orders"])
    }

    @Test func theCursorSkipsHeadingsAndContextRows() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("3"))
        var visited: [String] = []
        for _ in 0..<8 {
            visited.append(harness.dashboard.cursorConnection?.id ?? "none")
            harness.press(.down)
        }
        #expect(
            visited == [
                "acme-admin", "obo-graph", "obo-mail", "gws-bob", "gws-dave", "tx-orders", "tx-orders",
                "tx-orders",
            ])
        // The parent in another group is shown, but it is gh-alice's User row that the cursor stops at.
        #expect(harness.dashboard.rows.connectionPositions.count == 6)
    }

    @Test func aBrokenParentShowsOnItsChildrenRows() {
        let harness = Self.harness(adminBroken: true)
        harness.frame()
        let tree = Self.tree(harness)
        #expect(tree.contains(" ! needs-reauth acme-admin"))
        #expect(tree.contains(" ! needs-reauth ├─ obo-graph"))
        #expect(tree.contains(" ! needs-reauth └─ obo-mail"))
        #expect(tree.contains(" ● healthy      └─ tx-orders"))
        #expect(harness.line(containing: "3 needs-reauth") != nil || harness.text.contains("!3 needs-reauth"))
    }

    @Test func filteringForAChildKeepsItsParentAsContext() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("obo-mail")
        #expect(
            Self.tree(harness) == [
                "Delegated (1 of 6)", " ● healthy      acme-admin (delegated)", " ● healthy      └─ obo-mail",
            ])
        #expect(harness.dashboard.cursorConnection?.id == "obo-mail")
    }

    @Test func filteringForAParentShowsItsChildren() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("acme-admin")
        #expect(
            Self.tree(harness) == [
                "Delegated (3 of 6)", " ● healthy      acme-admin", " ● healthy      ├─ obo-graph",
                " ● healthy      └─ obo-mail",
            ])
    }

    @Test func theWorkspaceGroupHasAHeadingPerWorkspace() {
        let harness = Self.harness()
        harness.frame()
        #expect(
            Self.tree(harness, scope: "Workspace").prefix(6) == [
                "Workspace (3)",
                "  workspace Design · 3 members (2)",
                " ● healthy      notion-design",
                " ● healthy      figma-design",
                "  workspace ws-eng (1)",
                " ● healthy      linear-eng",
            ])
    }

    @Test func theFilterMatchesTheWorkspaceName() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("design")
        let shown = harness.dashboard.rows.rows.compactMap { row -> String? in
            guard case .connection(let index) = row else { return nil }
            return harness.dashboard.snapshot.connections[index].id
        }
        #expect(shown == ["notion-design", "figma-design"])
    }

    @Test func aFilterShowingPartOfAWorkspaceCountsOnlyTheShownMembers() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("figma")
        #expect(
            Self.tree(harness, scope: "Workspace") == [
                "Workspace (1 of 3)", "  workspace Design · 2 members (1)", " ● healthy      figma-design",
            ])
    }

    @Test func aNewVersionThatChangesTheMembersRetitlesTheHeading() {
        let harness = Self.harness()
        harness.frame()
        // A refresh-like version: nothing moves, so the rows' order is kept, but a member left the workspace.
        harness.backend.publish { snapshot in
            let index = snapshot.connections.firstIndex { $0.id == "figma-design" }!
            snapshot.connections[index].members = ["bo@example.com"]
        }
        harness.frame()
        #expect(
            Self.tree(harness, scope: "Workspace").prefix(2) == ["Workspace (3)", "  workspace Design · 2 members (2)"])
    }

    /// A workspace name too long for the line gives way to the members and the count, with `…` where it was cut.
    @Test func aLongWorkspaceNameKeepsTheMembersAndTheCountInView() {
        let long = "  workspace " + String(repeating: "design-", count: 30) + " · 3 members"
        let cut = TableWidget.heading(long, shown: 2, width: 80)
        #expect(cut.displayWidth == 80)
        #expect(cut.hasPrefix("  workspace design-design-"))
        #expect(cut.hasSuffix("… · 3 members (2)"))
        let wide = "  workspace " + String(repeating: "設計", count: 40) + " · 12 members"
        let cutWide = TableWidget.heading(wide, shown: 12, width: 60)
        #expect(cutWide.displayWidth <= 60 && cutWide.hasSuffix("… · 12 members (12)"))
        #expect(TableWidget.heading("  workspace Design · 3 members", shown: 2, width: 80)
            == "  workspace Design · 3 members (2)")
        // Too narrow for any of the name: the title is cut whole, the count still shown.
        #expect(TableWidget.heading(long, shown: 2, width: 20).hasSuffix("… (2)"))
    }

    /// The detail view's lines for `id`, whitespace runs collapsed.
    static func detail(_ id: String, adminBroken: Bool = false) -> [String] {
        let harness = Self.harness(adminBroken: adminBroken)
        harness.frame()
        harness.dashboard.openDetail(id)
        return DetailContent(dashboard: harness.dashboard, id: id, now: Fixtures.now).lines(width: 200).map {
            $0.text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
    }

    @Test func aChildsDetailNamesItsParentAndWhyItIsHeldBack() {
        let lines = Self.detail("obo-graph", adminBroken: true)
        #expect(lines.contains("parent acme-admin ! needs-reauth (delegated · admin@acme.example)"))
        #expect(
            lines.contains(
                "held back by parent parent acme-admin needs re-auth: invalid_grant (HTTP 400): AADSTS70008: expired"))
        #expect(lines.contains("status ! needs-reauth"))
    }

    @Test func aHealthyChildSaysWhereItRenewsFrom() {
        let lines = Self.detail("tx-orders")
        #expect(lines.contains("parent gh-alice ● healthy (user · alice@example.com)"))
        #expect(lines.contains("renews from gh-alice's access token (token_exchange)"))
    }

    @Test func aParentsDetailCountsItsChildren() {
        #expect(Self.detail("acme-admin").contains("derived 2 connections: obo-graph, obo-mail"))
        #expect(
            Self.detail("acme-admin", adminBroken: true).contains(
                "derived 2 connections: obo-graph, obo-mail; 2 held back by this connection's status"))
    }

    @Test func aKeyMintedConnectionNamesItsKey() {
        #expect(
            Self.detail("gws-bob").contains("minted with the private key of svc@fake.example (integration google-dwd)"))
    }

    @Test func aWorkspaceConnectionListsItsMembers() {
        let lines = Self.detail("notion-design")
        #expect(lines.contains("workspace Design"))
        #expect(lines.contains("members ann@example.com, bo@example.com"))
        #expect(Self.detail("linear-eng").contains("members none listed"))
    }

    @Test func treeAt120x40() throws {
        let harness = Self.harness(adminBroken: true)
        harness.frame()
        let lines = harness.press(.character("3"))
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Snapshots/delegated-tree-120x40.txt")
        let actual = lines.joined(separator: "\n") + "\n"
        let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
        guard !record, FileManager.default.fileExists(atPath: url.path) else {
            try actual.write(to: url, atomically: true, encoding: .utf8)
            if !record { Issue.record("recorded the new snapshot \(url.lastPathComponent); check it in") }
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "screen differs from \(url.lastPathComponent)")
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
