import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

@Suite struct DashboardKeyTests {
    // MARK: - Cursor

    @Test func cursorMovesWithArrowsAndVimKeys() {
        let harness = Fixtures.harness()
        harness.frame()
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        harness.press(.character("j"))
        #expect(harness.dashboard.cursorConnection?.id == "gh-zoe")
        harness.press(.down, .down)
        #expect(harness.dashboard.cursorConnection?.id == "stripe-acme")
        harness.press(.character("k"), .up)
        #expect(harness.dashboard.cursorConnection?.id == "gh-zoe")
        harness.press(.up, .up, .character("k"))
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        harness.press(.character("G"))
        #expect(harness.dashboard.cursorConnection?.id == "slack-bot")
        #expect(harness.screen.text[38].hasSuffix("10/10"))
        harness.press(.character("g"))
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        harness.press(.end, .home)
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
    }

    @Test func cursorRowIsDrawnInTheCursorStyle() throws {
        let harness = Fixtures.harness()
        let lines = harness.press(.character("j"))
        let zoe = try #require(lines.firstIndex { $0.contains(" gh-zoe ") })
        let alice = try #require(lines.firstIndex { $0.contains(" gh-alice ") })
        #expect(harness.screen.style(row: zoe, column: 20) == Theme.builtIn[.cursor])
        #expect(harness.screen.style(row: alice, column: 20) == Theme.builtIn[.row])
    }

    @Test func scrollingKeepsTheCursorVisible() throws {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        #expect(!harness.tableShows("slack-bot"))
        var lines = harness.press(.character("G"))
        #expect(harness.tableShows("slack-bot"))
        #expect(!lines.contains("User (3)"))
        lines = harness.press(.pageUp, .pageUp)
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        // The first row of a group brings its header along.
        #expect(lines.contains("User (3)"))
        lines = harness.press(.pageDown)
        let id = try #require(harness.dashboard.cursorConnection?.id)
        #expect(harness.tableShows(id))
    }

    // MARK: - Filter

    @Test func filterNarrowsAsYouTypeAndEnterKeepsIt() {
        let harness = Fixtures.harness()
        harness.frame()
        var lines = harness.press(.character("/"))
        #expect(lines[38].hasPrefix("/"))
        lines = harness.type("alice")
        #expect(lines[38].hasPrefix("/alice"))
        #expect(harness.tableShows("gh-alice"))
        #expect(!harness.tableShows("gh-zoe"))
        #expect(lines.contains("User (1 of 3)"))
        #expect(!lines.contains { $0.hasPrefix("Org (") })
        lines = harness.press(.enter)
        #expect(harness.dashboard.filter == "alice")
        #expect(lines[38].hasSuffix("filter: “alice”  1/1"))
        // Keys act on the list again once the filter is kept.
        harness.press(.character("j"))
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
    }

    @Test func escapeClearsTheFilter() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("carol")
        #expect(harness.dashboard.rows.connectionPositions.count == 1)
        harness.press(.escape)
        #expect(harness.dashboard.filter.isEmpty)
        #expect(!harness.dashboard.isEditingFilter)
        #expect(Fixtures.connections.allSatisfy { harness.tableShows($0.id) })
    }

    @Test func escapeInTheListClearsAKeptFilter() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press([.character("/")] + "dave".map { Key.character($0) } + [.enter])
        #expect(harness.dashboard.rows.connectionPositions.count == 1)
        harness.press(.escape)
        #expect(harness.dashboard.rows.connectionPositions.count == 10)
    }

    @Test func escapeInTheListWithoutAFilterDoesNothing() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character(" "), .character("3"))
        let before = harness.text
        let lines = harness.press(.escape, .escape)
        #expect(harness.text == before)
        #expect(harness.dashboard.marked == ["gh-alice"])
        #expect(harness.dashboard.scope == .delegated)
        #expect(harness.dashboard.view == .list)
        #expect(!harness.dashboard.shouldQuit)
        #expect(lines[38].hasSuffix("[Delegated]  sort: group  1 marked  1/1"))
        // The help says exactly that.
        let help = harness.press(.character("?"))
        #expect(help.contains { $0.contains("│ Esc       clear the filter; without a filter, nothing (q quits)") })
    }

    @Test(arguments: [
        ("alice", ["gh-alice"]),
        ("GOOGLE", ["gws-dave"]),
        ("notion-int", ["notion-ws", "linear-ws"]),
        ("ZOË", ["gh-zoe"]),
        ("slack", ["slack-carol", "slack-bot"]),
        ("corp", ["gh-org-acme", "gws-dave"]),
    ])
    func filterMatchesIdSubjectProviderAndIntegration(text: String, ids: [String]) {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type(text)
        let shown = harness.dashboard.rows.rows.compactMap { row -> String? in
            guard case .connection(let index) = row else { return nil }
            return harness.dashboard.snapshot.connections[index].id
        }
        #expect(shown == ids)
    }

    /// Tab, Ctrl-A, Ctrl-E, a C1 control and a direction override type nothing: the filter keeps only what
    /// was typed as text, and still finds the connection. Sent as raw input through the real key decoder.
    @Test func controlKeysAddNothingToTheFilter() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        let lines = harness.send(TerminalInput.characters("al\t\u{01}\u{05}\u{85}\u{202E}\u{7F}lice"))
        #expect(harness.dashboard.filter == "alice")
        #expect(harness.dashboard.isEditingFilter)
        #expect(lines[38].hasPrefix("/alice"), "\(lines[38])")
        #expect(!lines[38].contains("\u{FFFD}"))
        #expect(harness.tableShows("gh-alice"))
        #expect(harness.dashboard.rows.connectionPositions.count == 1)
    }

    /// A paste gone astray stops at the longest field a filter can match, with a message, instead of filtering
    /// again for each of thousands of characters.
    @Test func theFilterStopsAtItsLimit() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        _ = harness.send(TerminalInput.characters(String(repeating: "z", count: 1_000)))
        #expect(harness.dashboard.filter == String(repeating: "z", count: Dashboard.filterLimit))
        #expect(harness.dashboard.isEditingFilter)
        #expect(harness.text.contains("the filter takes at most 320 code points"), "\(harness.text)")
        harness.press(.backspace)
        #expect(harness.dashboard.filter.count == Dashboard.filterLimit - 1)
        // Combining marks make one character of any length: the limit counts code points.
        harness.press(.escape)
        harness.press(.character("/"))
        _ = harness.send(TerminalInput.characters("a" + String(repeating: "\u{301}", count: 1_000)))
        #expect(harness.dashboard.filter.unicodeScalars.count == Dashboard.filterLimit)
    }

    /// A filter longer than its line shows its end, where the next character goes, after `…`.
    @Test func aLongFilterShowsWhereTypingGoes() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        let lines = harness.send(TerminalInput.characters(String(repeating: "x", count: 150) + "ZQ"))
        #expect(lines[38].hasPrefix("/…xxx"), "\(lines[38])")
        #expect(lines[38].contains("xZQ "), "\(lines[38])")
    }

    /// A long kept filter is cut on the position line, so that the marks and the position after it stay in sight.
    @Test func aLongKeptFilterLeavesTheMarksInSight() {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        harness.press(.character(" "), .character("/"))
        harness.type("gh" + String(repeating: "-and-a-much-longer-query", count: 4))
        let lines = harness.press(.enter)
        #expect(lines[22].contains("1 marked  0/0"), "\(lines[22])")
        #expect(lines[22].contains("filter: “gh-and-a-much-longer-qu…”"), "\(lines[22])")
    }

    @Test func backspaceEditsTheFilter() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        harness.type("alicex")
        #expect(harness.dashboard.rows.connectionPositions.isEmpty)
        #expect(harness.text.contains("No connection matches “alicex”. Esc clears the filter."))
        harness.press(.backspace)
        #expect(harness.dashboard.rows.connectionPositions.count == 1)
    }

    // MARK: - Scope and sort

    @Test(arguments: [
        ("1", "User (3)", ["gh-alice", "gh-zoe", "slack-carol"]),
        ("2", "Org (2)", ["stripe-acme", "gh-org-acme"]),
        ("3", "Delegated (1)", ["gws-dave"]),
        ("4", "Workspace (2)", ["notion-ws", "linear-ws"]),
        ("5", "Bot (2)", ["ghapp-inst-678", "slack-bot"]),
    ])
    func numberKeysShowOneScope(key: Character, header: String, ids: [String]) {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.character(key))
        let headers = lines.filter { line in IdentityScope.allCases.contains { line.hasPrefix("\($0.title) (") } }
        #expect(headers == [header])
        for connection in Fixtures.connections {
            #expect(harness.tableShows(connection.id) == ids.contains(connection.id))
        }
        #expect(harness.dashboard.cursorConnection?.id == ids.first)
        let all = harness.press(.character("0"))
        #expect(all.filter { line in IdentityScope.allCases.contains { line.hasPrefix("\($0.title) (") } }.count == 5)
    }

    @Test func sortCyclesThroughExpiryStatusNameAndBack() {
        let harness = Fixtures.harness()
        harness.frame()
        func userOrder() -> [String] {
            harness.dashboard.rows.rows.compactMap { row -> String? in
                guard case .connection(let index) = row else { return nil }
                let connection = harness.dashboard.snapshot.connections[index]
                return connection.scope == .user ? connection.id : nil
            }
        }
        #expect(userOrder() == ["gh-alice", "gh-zoe", "slack-carol"])
        harness.press(.character("s"))
        #expect(harness.dashboard.sort == .expiry)
        #expect(userOrder() == ["slack-carol", "gh-zoe", "gh-alice"])
        #expect(harness.screen.text[38].contains("sort: expiry"))
        harness.press(.character("s"))
        #expect(userOrder() == ["slack-carol", "gh-zoe", "gh-alice"])
        #expect(harness.dashboard.sort == .status)
        harness.press(.character("s"))
        #expect(harness.dashboard.sort == .name)
        #expect(userOrder() == ["gh-alice", "gh-zoe", "slack-carol"])
        harness.press(.character("s"))
        #expect(harness.dashboard.sort == .group)
        // The cursor follows its connection, not its position.
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
    }

    // MARK: - Detail view

    /// A revoked connection's tokens are erased; the detail view says so beside the fingerprint it keeps, as
    /// `show` does, instead of a bare fingerprint that reads as a token still held.
    @Test func aRevokedConnectionsDetailSaysItsTokenWasWiped() {
        let text = onTheRevokedRow().press(.enter).joined(separator: "\n")
        #expect(text.contains("none (wiped when revoked; it was xoxb…55443322)"), "\(text)")
        #expect(!text.contains("fingerprint xoxb"))
    }

    @Test func enterOpensTheDetailViewWithFingerprintsOnly() throws {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.enter)
        let text = lines.joined(separator: "\n")
        #expect(lines[2].hasPrefix(" gh-alice  ● healthy  User · alice@example.com"))
        #expect(text.contains("fingerprint \(Fixtures.aliceAccessToken.fingerprint)"))
        #expect(text.contains("fingerprint \(Fixtures.aliceRefreshToken.fingerprint)"))
        #expect(!text.contains(Fixtures.aliceAccessToken.value))
        #expect(!text.contains(Fixtures.aliceRefreshToken.value))
        #expect(!text.contains("fake-"))
        for fact in [
            "integration         github-oauth", "provider            github", "scope               user (User)",
            "credential          oauth2", "grant               refresh_token", "granted scopes      repo read:user",
            "issued              2025-12-31 23:00:00 UTC (1h ago)",
            "expires             2026-01-01 01:02:00 UTC (in 1h02m)",
            "last refresh        2025-12-31 23:58:00 UTC (2m ago)", "failures            0",
            "revoked             no", "token URL           https://github.example/login/oauth/token",
            "revocation URL      https://github.example/applications/revoke", "client auth         client_secret_basic",
        ] {
            #expect(text.contains(fact), "missing: \(fact)")
        }
        #expect(harness.backend.calls.historyRequests == ["gh-alice"])
    }

    @Test func historyShowsLoadingUntilItArrives() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.enter, .character("G"))
        #expect(harness.text.contains("loading…"))
        harness.backend.publish { snapshot in
            snapshot.histories["gh-alice"] = [
                HistoryEntry(at: Fixtures.at(-86_400), connectionID: "gh-alice", kind: .imported, message: "imported"),
                HistoryEntry(
                    at: Fixtures.at(-120), connectionID: "gh-alice", kind: .refreshed,
                    message: "token refreshed, rotated refresh token"),
            ]
        }
        harness.press(.character("G"))
        #expect(!harness.text.contains("loading…"))
        #expect(
            harness.text.contains("2025-12-31 23:58:00 UTC  refreshed        token refreshed, rotated refresh token"))
        #expect(harness.text.contains("2025-12-31 00:00:00 UTC  imported         imported"))
        // An unchanged connection is not asked for again.
        #expect(harness.backend.calls.historyRequests == ["gh-alice"])
    }

    @Test func detailShowsTheProviderErrorVerbatimAndWhoMustAct() {
        let prompt = ReauthPrompt(
            connectionID: "slack-carol", who: "the user carol@example.com must sign in again",
            reason: "Token has been expired or revoked.", url: "https://slack.example/oauth/v2/authorize?fake=1")
        let harness = Fixtures.harness(prompts: ["slack-carol": prompt])
        harness.frame()
        let lines = harness.press(.down, .down, .enter)
        #expect(lines[2].contains("! needs-reauth"))
        harness.press(.character("G"))
        let text = harness.text
        #expect(text.contains("who must act        the user carol@example.com must sign in again"))
        #expect(text.contains("start at            https://slack.example/oauth/v2/authorize?fake=1"))
        #expect(text.contains("error               invalid_grant"))
        #expect(text.contains("error_description   Token has been expired or revoked."))
        #expect(text.contains("HTTP status         400"))
        #expect(text.contains("body prefix         {\"ok\":false,\"error\":\"invalid_grant\"}"))
    }

    @Test func detailScrollsAndEscOrQGoesBack() {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        harness.press(.enter)
        #expect(harness.dashboard.view == .detail(id: "gh-alice"))
        harness.press(.character("j"), .character("j"))
        #expect(harness.dashboard.detailScroll == 2)
        harness.press(.character("k"))
        #expect(harness.dashboard.detailScroll == 1)
        harness.press(.escape)
        #expect(harness.dashboard.view == .list)
        harness.press(.enter, .character("q"))
        #expect(harness.dashboard.view == .list)
        #expect(!harness.dashboard.shouldQuit)
    }

    @Test func detailOfAVanishedConnectionSaysSo() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.enter)
        harness.backend.publish { $0.connections.removeAll { $0.id == "gh-alice" } }
        harness.frame()
        #expect(harness.text.contains("Connection gh-alice no longer exists. Esc goes back."))
    }

    /// Deleted by another process while its detail view is open: `r`, `x` and `a` say it is gone and do nothing, rather
    /// than "refresh requested" or a revoke dialog for a connection that is not there.
    @Test func actionsOnAVanishedConnectionSaySoAndDoNothing() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.enter)
        harness.backend.publish { $0.connections.removeAll { $0.id == "gh-alice" } }
        harness.frame()
        for key in ["r", "x", "a"] {
            let lines = harness.press(.character(Character(key)))
            #expect(harness.dashboard.overlay == nil, "\(key)")
            #expect(harness.dashboard.message?.isError == true, "\(key)")
            #expect(
                lines[38].hasPrefix(" connection gh-alice no longer exists: nothing to act on; Esc goes back"),
                "\(key): \(lines[38])")
        }
        #expect(harness.dashboard.view == .detail(id: "gh-alice"))
        #expect(harness.backend.calls.refreshed.isEmpty)
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(harness.backend.calls.reauthPromptRequests.isEmpty)
        #expect(harness.backend.calls.signInsStarted.isEmpty)
    }

    /// `tokentop delete` in another process: the mark goes with the row, and `r` acts on the marks left.
    @Test func aMarkOnAConnectionDeletedElsewhereGoesWithIt() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character(" "), .character("j"), .character(" "))
        let marked = harness.dashboard.marked
        #expect(marked.count == 2 && marked.contains("gh-alice"))
        harness.backend.publish { $0.connections.removeAll { $0.id == "gh-alice" } }
        harness.frame()
        let left = marked.subtracting(["gh-alice"])
        #expect(harness.dashboard.marked == left)
        harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed == [left.sorted()])
    }

    // MARK: - Commands

    @Test func refreshActsOnTheCursorRow() {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed == [["gh-alice"]])
        #expect(lines[38].hasPrefix(" refresh requested: gh-alice"))
    }

    /// A paste is text for the filter, whatever it holds: its newline is no Enter and its `x` `y` revoke nothing.
    @Test func aPasteIsFilterTextAndNeverACommand() {
        let harness = Fixtures.harness()
        harness.frame()
        let outside = harness.press(.paste("gh-alice\nxy"))
        #expect(harness.dashboard.overlay == nil)
        #expect(outside[38].hasPrefix(" a paste goes into the filter only: press / first"))
        harness.press(.character("/"), .paste("gh-al\u{1B}ice\nxy"))
        #expect(harness.dashboard.filter == "gh-alice")
        #expect(harness.dashboard.isEditingFilter)
        #expect(harness.dashboard.overlay == nil)
        #expect(harness.backend.calls.revoked.isEmpty)
        harness.press(.paste(String(repeating: "z", count: 400)))
        #expect(harness.dashboard.filter.unicodeScalars.count == Dashboard.filterLimit)
    }

    /// The dashboard filtered down to slack-bot, the fixture's revoked row, under the cursor.
    func onTheRevokedRow() -> Harness {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("/"))
        for character in "slack-bot" { harness.press(.character(character)) }
        harness.press(.enter)
        return harness
    }

    @Test func aRevokedRowIsNotSentForRefreshAndTheMessageSaysWhy() {
        let harness = onTheRevokedRow()
        let lines = harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed.isEmpty)
        #expect(
            lines[38].hasPrefix(
                " slack-bot is revoked, nothing to refresh: import a new credential"), "\(lines[38])")
    }

    /// `x` on a revoked row says so at once, as `r` does, instead of asking and refusing after `y`.
    @Test func aRevokedRowIsNotAskedAboutForRevoking() {
        let harness = onTheRevokedRow()
        let lines = harness.press(.character("x"))
        #expect(harness.dashboard.overlay == nil)
        #expect(lines[38].hasPrefix(" slack-bot is already revoked"), "\(lines[38])")
        harness.press(.character("y"))
        #expect(harness.backend.calls.revoked.isEmpty)
    }

    /// Marked rows that are all revoked are refused at once, as one is, not asked about and refused after `y`.
    @Test func markedRowsAllRevokedAreNotAskedAboutForRefreshing() {
        let harness = Fixtures.harness()
        // gh-alice (the first row) revoked too, beside slack-bot (the last).
        harness.backend.publish { snapshot in
            if let index = snapshot.connections.firstIndex(where: { $0.id == "gh-alice" }) {
                snapshot.connections[index].revokedAt = Fixtures.at(-60)
            }
        }
        harness.frame()
        let lines = harness.press(.character(" "), .character("G"), .character(" "), .character("r"))
        #expect(harness.dashboard.marked == ["gh-alice", "slack-bot"])
        #expect(harness.dashboard.overlay == nil)
        #expect(lines[38].contains("are revoked, nothing to refresh"), "\(lines[38])")
        #expect(harness.backend.calls.refreshed.isEmpty)
    }

    @Test func spaceMarksAndRefreshActsOnTheMarkedRows() throws {
        let harness = Fixtures.harness()
        harness.frame()
        // Several rows ask first (one confirmation naming how many); y goes ahead.
        let lines = harness.press(.character(" "), .character(" "), .character("r"), .character("y"))
        #expect(harness.dashboard.marked == ["gh-alice", "gh-zoe"])
        #expect(harness.backend.calls.refreshed == [["gh-alice", "gh-zoe"]])
        #expect(lines[38].hasPrefix(" refresh requested: 2 connections (gh-alice, gh-zoe)"))
        #expect(try #require(harness.line(containing: " gh-alice ")).hasPrefix("*"))
        #expect(try #require(harness.line(containing: " slack-carol ")).hasPrefix(" "))
        harness.press(.character(" "))
        #expect(harness.dashboard.marked == ["gh-alice", "gh-zoe", "slack-carol"])
        harness.press(.character("k"), .character(" "))
        #expect(harness.dashboard.marked == ["gh-alice", "gh-zoe"])
    }

    /// Marks outlive a filter; `u` drops them all at once, and says how many, so that `r` and `x` act on the cursor
    /// row again.
    @Test func uUnmarksEveryRowEvenThoseAFilterHides() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character(" "), .character(" "))
        harness.press(.character("/"))
        harness.type("slack")
        harness.press(.enter)
        #expect(harness.dashboard.marked == ["gh-alice", "gh-zoe"])
        var lines = harness.press(.character("u"))
        #expect(harness.dashboard.marked.isEmpty)
        #expect(lines[38].hasPrefix(" unmarked 2 rows"), "\(lines[38])")
        lines = harness.press(.character("u"))
        #expect(lines[38].hasPrefix(" no row is marked"), "\(lines[38])")
        // Marking again makes that message false: it goes.
        lines = harness.press(.character(" "))
        #expect(!lines[38].contains("no row is marked"), "\(lines[38])")
        // Unmarked, and back on the row it marked: `x` acts on the cursor row.
        harness.press(.character("u"), .character("k"))
        harness.press(.character("x"))
        #expect(harness.text.contains("Revoke slack-"), "\(harness.text)")
    }

    @Test func revokeAsksFirst() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("x"))
        let dialog = DialogWidget(overlay: .confirmRevoke(ids: ["gh-alice"])).content(harness.dashboard)
        #expect(
            dialog.paragraphs == [
                "Revoke gh-alice (alice@example.com)? This calls the provider's revocation endpoint. [y/N]"
            ])
        #expect(harness.text.contains("Revoke gh-alice (alice@example.com)? This calls the provider's"))
        // Without a revocation endpoint the dialog does not promise a call to one.
        let here = DialogWidget(overlay: .confirmRevoke(ids: ["stripe-acme"])).content(harness.dashboard)
        #expect(here.paragraphs.first?.contains("has no revocation endpoint: it is marked revoked here only") == true)
        // A static key does not expire: it lives at the provider until revoked there.
        let key = DialogWidget(overlay: .confirmRevoke(ids: ["linear-ws"])).content(harness.dashboard)
        #expect(
            key.paragraphs.first?.hasSuffix(
                "marked revoked here only, and the key stays valid at the provider until someone revokes it there. "
                    + "[y/N]") == true, "\(key.paragraphs)")
        #expect(harness.screen.text[39].contains("y revoke"))
        #expect(harness.backend.calls.revoked.isEmpty)
        let lines = harness.press(.character("y"))
        #expect(harness.backend.calls.revoked == [["gh-alice"]])
        #expect(lines[38].hasPrefix(" revoke requested: gh-alice"))
    }

    @Test(arguments: [
        Key.character("n"), .character("Y"), .enter, .escape, .character("q"), .character(" "), .character("x"),
        .down,
    ])
    func revokeIsCancelledByAnyKeyButY(key: Key) {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.character("x"), key)
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(harness.dashboard.overlay == nil)
        #expect(lines[38].hasPrefix(" revoke cancelled"))
        #expect(!harness.dashboard.shouldQuit)
    }

    /// A message about the list does not follow into the detail view, nor one about the detail view back out.
    @Test func theMessageLineStaysWithItsView() {
        let harness = Fixtures.harness()
        harness.frame()
        #expect(harness.press(.character("x"), .character("n"))[38].hasPrefix(" revoke cancelled"))
        let detail = harness.press(.enter)
        #expect(harness.dashboard.message == nil)
        #expect(!detail.joined().contains("revoke cancelled"))
        #expect(harness.press(.character("x"), .character("n")).joined().contains("revoke cancelled"))
        let list = harness.press(.escape)
        #expect(harness.dashboard.message == nil)
        #expect(!list.joined().contains("revoke cancelled"))
    }

    @Test func revokeOfMarkedRowsListsThemAndClearsTheMarks() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("G"), .character(" "), .character("g"), .character(" "), .character("x"))
        let dialog = DialogWidget(overlay: .confirmRevoke(ids: ["gh-alice", "slack-bot"])).content(harness.dashboard)
        #expect(
            dialog.paragraphs.first
                == "Revoke 2 connections? This calls the provider's revocation endpoint. [y/N]")
        #expect(harness.text.contains("Revoke 2 connections? This calls the provider's revocation"))
        #expect(harness.text.contains("gh-alice (alice@example.com)"))
        #expect(harness.text.contains("slack-bot (B0FAKEBOT)"))
        #expect(harness.text.contains("No revocation endpoint for slack-bot: it is marked revoked here only."))
        harness.press(.character("y"))
        #expect(harness.backend.calls.revoked == [["gh-alice", "slack-bot"]])
        #expect(harness.dashboard.marked.isEmpty)
    }

    @Test func reauthDialogSaysWhoMustActWhyAndWhere() {
        let prompt = ReauthPrompt(
            connectionID: "slack-carol", who: "the user carol@example.com must sign in again",
            reason: "Token has been expired or revoked.", url: "https://slack.example/oauth/v2/authorize?fake=1")
        let harness = Fixtures.harness(prompts: ["slack-carol": prompt])
        harness.frame()
        let text = harness.press(.down, .down, .character("a")).joined(separator: "\n")
        #expect(text.contains("Re-auth slack-carol"))
        #expect(text.contains("Who must act: the user carol@example.com must sign in again"))
        #expect(text.contains("Why: Token has been expired or revoked."))
        #expect(text.contains("Start here: https://slack.example/oauth/v2/authorize?fake=1"))
        harness.press(.character("z"))
        #expect(harness.dashboard.overlay == nil)
    }

    @Test func reauthWithoutAPromptSaysNothingIsPending() {
        let harness = Fixtures.harness()
        harness.frame()
        let text = harness.press(.character("a")).joined(separator: "\n")
        #expect(text.contains("No re-authorization is pending for gh-alice."))
        #expect(text.contains("Were it needed: the user must sign in again."))
        #expect(harness.backend.calls.reauthPromptRequests == ["gh-alice"])
    }

    @Test func helpListsEveryKeyOfTheKeyTable() {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.character("?"))
        let paired: Set<ListAction> = [.up, .down, .pageUp, .pageDown, .first, .last, .toggleMark, .unmarkAll]
        for binding in KeyBinding.list where !paired.contains(binding.action) {
            #expect(
                lines.contains { $0.contains("│ \(binding.label.padded(toWidth: 8))  \(binding.summary)") },
                "help lacks \(binding.label)")
        }
        for moving in [
            "↑↓ k j    cursor up, down", "PgUp/Dn   one page up, down", "g G       first row, last row",
            "space u   mark/unmark and step down; u unmarks every row, hidden too",
        ] {
            #expect(lines.contains { $0.contains("│ \(moving)") }, "help lacks \(moving)")
        }
        harness.press(.character("q"))
        #expect(harness.dashboard.overlay == nil)
        #expect(!harness.dashboard.shouldQuit)
    }

    /// Help names the keys the configuration gave, and its last line fits the smallest terminal taken.
    @Test func helpNamesReboundKeysAndFitsEightyByTwentyFour() throws {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.dashboard.keyMap = try KeyMap(overrides: ["quit": "Q", "refresh": "x", "revoke": "r"])
        harness.frame()
        let lines = harness.press(.character("?"))
        #expect(lines.contains { $0.contains("│ Esc       clear the filter; without a filter, nothing (Q quits)") })
        #expect(lines.contains { $0.contains("scroll · Esc Q back") })
        #expect(lines.contains { $0.contains("│           x refresh · r revoke · a re-auth · i explain, on the one shown") })
        #expect(lines.contains { $0.contains("└───") }, "the box is cut:\n\(lines.joined(separator: "\n"))")
    }

    /// The quit key goes back from the detail view and the explainer, wherever the configuration put it: a `q`
    /// given to refresh refreshes there, as in the list, and the hint bar says so.
    @Test func theQuitKeyGoesBackFromDetailsAndAQGivenToRefreshRefreshesThere() throws {
        let harness = Fixtures.harness(columns: 120, rows: 40)
        harness.dashboard.keyMap = try KeyMap(overrides: ["quit": "Q", "refresh": "q"])
        harness.frame()
        let lines = harness.press(.enter)
        #expect(harness.dashboard.view == .detail(id: "gh-alice"))
        let hints = try #require(lines.last)
        #expect(hints.hasPrefix(" Q/Esc back  ? help  q refresh"), "\(hints)")
        harness.press(.character("q"))
        #expect(harness.dashboard.view == .detail(id: "gh-alice"))
        #expect(harness.backend.calls.refreshed == [["gh-alice"]])
        harness.press(.character("Q"))
        #expect(harness.dashboard.view == .list)
        #expect(!harness.dashboard.shouldQuit)
        let explain = harness.press(.character("i"))
        #expect(try #require(explain.last).hasPrefix(" Q/Esc back  ? help"), "\(explain.last ?? "")")
        harness.press(.character("q"))
        #expect(harness.dashboard.view != .list, "q is refresh's key now, not back")
        harness.press(.character("Q"))
        #expect(harness.dashboard.view == .list)
        #expect(!harness.dashboard.shouldQuit)
    }

    @Test func everyBoundKeyIsOneActionOnly() {
        let keys = KeyBinding.list.flatMap(\.keys)
        #expect(Set(keys).count == keys.count)
    }

    @Test func qQuitsFromTheList() {
        let harness = Fixtures.harness()
        harness.screen.keys = [.character("j"), .character("q"), .character("j")]
        harness.loop.run(maxIterations: 100)
        #expect(harness.dashboard.shouldQuit)
        #expect(harness.loop.iterations == 2)
        #expect(harness.screen.keys == [.character("j")])
    }
}

extension DashboardKeyTests {
    @Test func aMessageTooLongForItsLineEndsWithAnEllipsis() throws {
        let harness = Fixtures.harness(columns: 80)
        harness.frame()
        let names = String(repeating: "umbrella-grace, ", count: 6)
        harness.dashboard.say("refresh requested: 3 connections (" + names + ")")
        let line = harness.frame()[38]
        let cut = try #require(line.range(of: "…"), "\(line)")
        #expect(line[..<cut.lowerBound].hasPrefix(" refresh requested: 3 connections (umbrella-grace, "))
        #expect(line[cut.upperBound...].hasPrefix(" sort: "), "the cut message stops before the position: \(line)")
    }

    @Test func messagesFadeAfterTenSeconds() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("r"))
        harness.backend.clock.advance(9)
        #expect(harness.frame()[38].hasPrefix(" refresh requested: gh-alice"))
        harness.backend.clock.advance(1)
        #expect(!harness.frame()[38].contains("refresh requested"))
    }
}
