import Foundation
import Testing

@testable import TokentopCore
@testable import TokentopTUI

@Suite struct DashboardRenderTests {
    @Test func fiveGroupHeadersInScopeOrder() {
        let lines = Fixtures.harness().frame()
        let headers = lines.filter { line in IdentityScope.allCases.contains { line.hasPrefix("\($0.title) (") } }
        #expect(headers == ["User (3)", "Org (2)", "Delegated (1)", "Workspace (2)", "Bot (2)"])
    }

    @Test func emptyScopesStillShowTheirHeader() {
        let onlyUsers = Fixtures.connections.filter { $0.scope == .user }
        let lines = Fixtures.harness(snapshot: Fixtures.snapshot(connections: onlyUsers)).frame()
        for header in ["User (3)", "Org (0)", "Delegated (0)", "Workspace (0)", "Bot (0)"] {
            #expect(lines.contains(header))
        }
    }

    @Test func columnTitlesInOrder() throws {
        let harness = Fixtures.harness()
        harness.frame()
        let titles = try #require(harness.line(containing: "STATUS"))
        let order = ["STATUS", "CONNECTION", "PROVIDER", "SUBJECT", "EXPIRES", "REFRESHED", "FAILS"]
        let positions = order.map { titles.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
    }

    @Test(arguments: [
        ("gh-alice", ["● healthy", "github", "alice@example.com", "1h02m", "2m ago"]),
        ("gh-zoe", ["◐ expiring", "zoë@example.com", "45s", "59m ago"]),
        ("slack-carol", ["! needs-reauth", "slack", "expired", "2h ago"]),
        ("stripe-acme", ["■ static", "stripe", "org_acme", "—", "never"]),
        ("gh-org-acme", ["● healthy", "acme-corp", "3d04h", "1d ago"]),
        ("gws-dave", ["▲ failing", "google", "4m05s", "1h ago"]),
        ("notion-ws", ["✕ expired", "notion", "expired", "never"]),
        ("ghapp-inst-678", ["↻ refreshing", "45m00s", "15m ago"]),
        ("slack-bot", ["⊘ revoked", "B0FAKEBOT"]),
    ])
    func rowShowsStatusSymbolWordAndTimes(id: String, expected: [String]) throws {
        let harness = Fixtures.harness()
        harness.frame()
        let line = try #require(harness.line(containing: " \(id) "))
        for text in expected { #expect(line.contains(text), "\(id): '\(text)' missing from '\(line)'") }
    }

    /// A renewable token nobody renewed in time (its provider's breaker held the refresh, or no actor ran) is due,
    /// not `expired` (DESIGN.md: that is for tokens nothing can renew): `◐ expiring`, or `▲ failing` while its
    /// refreshes fail, with EXPIRES reading `expired` in the critical style.
    @Test func aRenewableTokenPastItsExpiryReadsDueWithAnExpiredCountdown() throws {
        func renewable(_ id: String, expiresIn: Double, failures: Int) -> Connection {
            Connection(
                id: id, integrationID: "github-oauth", scope: .user, subject: "\(id)@example.com",
                credential: .oauth2, grant: .refreshToken, accessFingerprint: "…0badf00d",
                refreshFingerprint: "…1badf00d", issuedAt: Fixtures.at(expiresIn - 3_600),
                expiresAt: Fixtures.at(expiresIn), failures: failures, createdAt: Fixtures.at(-86_400))
        }
        let connections = [
            // First in its group, so the cursor's style covers its row rather than one this test reads.
            renewable("a-fresh", expiresIn: 3_000, failures: 0),
            renewable("held-by-breaker", expiresIn: -30, failures: 0),
            renewable("ran-out-failing", expiresIn: -1, failures: 4),
            renewable("still-valid-failing", expiresIn: 600, failures: 4),
        ]
        var snapshot = Fixtures.snapshot(connections: connections)
        snapshot.inFlight = []
        let harness = Fixtures.harness(snapshot: snapshot)
        let lines = harness.frame()
        for (id, status) in [("held-by-breaker", "◐ expiring"), ("ran-out-failing", "▲ failing")] {
            let row = try #require(lines.firstIndex { $0.contains(" \(id) ") })
            let line = lines[row]
            #expect(line.hasPrefix(" \(status) "), "\(line)")
            let countdown = try #require(line.range(of: " expired "), "EXPIRES: \(line)")
            let column = line.distance(from: line.startIndex, to: countdown.lowerBound) + 1
            #expect(harness.screen.style(row: row, column: column) == Theme.builtIn[.countdownCritical], "\(id)")
        }
        let valid = try #require(harness.line(containing: " still-valid-failing "))
        #expect(valid.hasPrefix(" ▲ failing "), "\(valid)")
        #expect(valid.contains("10m00s"), "\(valid)")
        #expect(lines[1] == " 4 connections  ● 1 healthy  ◐ 1 expiring  ▲ 2 failing")
    }

    /// An answer without an expiry was stored with an assumed lifetime: the countdown says so with `~`, and the
    /// detail view says the expiry is unknown and where the assumption came from.
    @Test func anAssumedExpiryIsShownAsSuch() throws {
        let assumed = Connection(
            id: "a-assumed", integrationID: "github-oauth", scope: .user, subject: "assumed@example.com",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "…0badf00d", refreshFingerprint: "…1badf00d",
            issuedAt: Fixtures.at(-60), expiresAt: Fixtures.at(3_540), createdAt: Fixtures.at(-86_400),
            expiryAssumed: true)
        let known = Connection(
            id: "b-known", integrationID: "github-oauth", scope: .user, subject: "known@example.com",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "…2badf00d", refreshFingerprint: "…3badf00d",
            issuedAt: Fixtures.at(-60), expiresAt: Fixtures.at(3_540), createdAt: Fixtures.at(-86_400))
        let harness = Fixtures.harness(snapshot: Fixtures.snapshot(connections: [assumed, known]))
        harness.frame()
        #expect(try #require(harness.line(containing: " a-assumed ")).contains(" ~59m00s "))
        let plain = try #require(harness.line(containing: " b-known "))
        #expect(plain.contains(" 59m00s ") && !plain.contains("~"), "\(plain)")
        harness.press(.enter)
        #expect(harness.dashboard.view == .detail(id: "a-assumed"))
        #expect(harness.text.contains("expiry unknown"), "\(harness.text)")
    }

    @Test func failuresColumnCountsFailures() throws {
        let harness = Fixtures.harness()
        harness.frame()
        #expect(try #require(harness.line(containing: " gws-dave ")).hasSuffix(" 2"))
        #expect(try #require(harness.line(containing: " gh-alice ")).hasSuffix(" 0"))
    }

    @Test func headerNamesTheDatabaseTheActorAndTheCounts() {
        let lines = Fixtures.harness().frame()
        #expect(lines[0].hasPrefix(" tokentop  \(Fixtures.databasePath)"))
        #expect(lines[0].hasSuffix("refreshing 1"))
        #expect(
            lines[1] == " 10 connections ●2 healthy ◐1 expiring ↻1 refreshing ▲1 failing !1 needs-reauth ✕1 expired"
                + " ⊘1 revoked ■2 static")
    }

    @Test(arguments: [
        (245.0 as Double?, "next refresh in 4m05s"),
        (-1, "refresh due now"),
        (nil, "no refresh scheduled"),
    ])
    func headerCountsDownToTheNextRefresh(dueIn: Double?, expected: String) {
        var snapshot = Fixtures.snapshot()
        snapshot.inFlight = []
        snapshot.nextDue = dueIn.map(Fixtures.at)
        let lines = Fixtures.harness(snapshot: snapshot).frame()
        #expect(lines[0].hasSuffix(expected))
    }

    @Test func fewerStatusesShowTheirWordsOnASmallScreen() {
        let two = Fixtures.connections.filter { ["gh-alice", "gws-dave"].contains($0.id) }
        let lines = Fixtures.harness(columns: 80, rows: 24, snapshot: Fixtures.snapshot(connections: two)).frame()
        #expect(lines[1] == " 2 connections  ● 1 healthy  ▲ 1 failing")
    }

    @Test func eventPaneShowsTheNewestFiveOldestFirst() throws {
        let harness = Fixtures.harness()
        let lines = harness.frame()
        let title = try #require(lines.firstIndex { $0.hasPrefix("─ Events (UTC) ─") })
        #expect(
            Array(lines[title + 1...title + 5]) == [
                " 23:45:00  ghapp-inst-678            installation token",
                " 23:50:00  slack-carol               provider refused the grant: invalid_grant",
                " 23:55:00  slack-bot                 revoked at the provider",
                " 23:58:00  gh-alice                  token refreshed",
                " 23:59:40  gws-dave                  refresh failed: server_error (HTTP 503)",
            ])
        #expect(!harness.text.contains("token refreshed\n 23:45"))
    }

    @Test func hintBarAndPositionLine() {
        let lines = Fixtures.harness().frame()
        #expect(
            lines[39]
                == " q quit  ? help  r refresh  x revoke  a re-auth  Enter details  / filter  ↑↓ move  1-5 scope  0 all"
                + "  s sort  space mark")
        #expect(lines[38].hasSuffix("sort: group  1/10"))
    }

    @Test func hintBarKeepsTheActionsAtEightyColumns() {
        let lines = Fixtures.harness(columns: 80, rows: 24).frame()
        #expect(lines[23] == " q quit ? help r refresh x revoke a re-auth Enter details / filter ↑↓ move")
        let detail = Fixtures.harness(columns: 80, rows: 24)
        detail.frame()
        #expect(detail.press(.enter)[23] == " q/Esc back  ? help  r refresh  x revoke  a re-auth  ↑↓ scroll")
    }

    @Test(arguments: [(80, 24), (120, 40)])
    func sortIsStatedUnderTheTable(columns: Int, rows: Int) {
        let harness = Fixtures.harness(columns: columns, rows: rows)
        #expect(harness.frame()[rows - 2].hasSuffix("sort: group  1/10"))
        // The cursor stays on gh-alice, which both orders put third.
        #expect(harness.press(.character("s"))[rows - 2].hasSuffix("sort: expiry  3/10"))
        #expect(harness.press(.character("s"))[rows - 2].hasSuffix("sort: status  3/10"))
        // The detail view has no rows to sort, so it does not say.
        #expect(!harness.press(.enter)[rows - 2].contains("sort:"))
    }

    @Test func revokedRowShowsADashNotACountdown() throws {
        var connections = Fixtures.connections
        connections[0].revokedAt = Fixtures.at(-30)
        connections[0].expiresAt = Fixtures.at(259)
        let harness = Fixtures.harness(snapshot: Fixtures.snapshot(connections: connections))
        harness.frame()
        let line = try #require(harness.line(containing: " gh-alice "))
        #expect(line.hasPrefix(" ⊘ revoked      gh-alice "))
        #expect(!line.contains("4m19s"))
        // EXPIRES, REFRESHED and FAILS are right-aligned, so the row's tail pins the dash in its column.
        #expect(line.hasSuffix("alice@example.com                          —    2m ago     0"))
        harness.press(.enter)
        #expect(harness.text.contains("expires             2026-01-01 00:04:19 UTC (revoked)"))
        #expect(!harness.text.contains("in 4m19s"))
    }

    @Test func revokedRowsSortWithThoseThatNeverExpire() {
        var connections = Fixtures.connections
        connections[1].revokedAt = Fixtures.at(-30)  // gh-zoe, 45s left
        let harness = Fixtures.harness(snapshot: Fixtures.snapshot(connections: connections))
        harness.frame()
        harness.press(.character("s"))
        let users = harness.dashboard.rows.rows.compactMap { row -> String? in
            guard case .connection(let index) = row else { return nil }
            let connection = harness.dashboard.snapshot.connections[index]
            return connection.scope == .user ? connection.id : nil
        }
        #expect(users == ["slack-carol", "gh-alice", "gh-zoe"])
    }

    @Test(arguments: [(79, 23), (79, 40), (120, 23), (40, 10)])
    func smallTerminalShowsTheMinimum(columns: Int, rows: Int) throws {
        let harness = Fixtures.harness(columns: columns, rows: rows)
        let lines = harness.frame()
        let message = "tokentop needs at least 80×24 (now \(columns)×\(rows))"
        if message.count <= columns {
            let line = try #require(lines.first { $0.contains(message) })
            #expect(line == String(repeating: " ", count: (columns - message.count) / 2) + message)
        } else {
            // Too narrow for one line: each part whole on its own line, never a size cut off mid-number.
            for part in ["tokentop needs at least", "80×24", "(now \(columns)×\(rows))", "q quits"] {
                #expect(lines.contains { $0.trimmingCharacters(in: .whitespaces) == part }, "\(lines)")
            }
        }
        #expect(!harness.text.contains("STATUS"))
    }

    /// The screens that say how to quit name the key the configuration gave.
    @Test func theTooSmallAndEmptyScreensNameAReboundQuitKey() throws {
        let small = Fixtures.harness(columns: 79, rows: 23)
        small.dashboard.keyMap = try KeyMap(overrides: ["quit": "Q"])
        #expect(small.frame().contains { $0.trimmingCharacters(in: .whitespaces) == "Q quits" })
        let empty = Fixtures.harness(snapshot: DashboardSnapshot(version: 1, databasePath: "/tmp/empty.sqlite3"))
        empty.dashboard.keyMap = try KeyMap(overrides: ["quit": "Q"])
        #expect(empty.frame().contains { $0.trimmingCharacters(in: .whitespaces) == "Press Q to quit." })
    }

    @Test func eightyByTwentyFourIsEnough() {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        #expect(!harness.text.contains("needs at least"))
        #expect(harness.line(containing: "STATUS") != nil)
        #expect(harness.line(containing: "User (3)") != nil)
    }

    @Test func emptyDatabaseSaysHowToBegin() {
        let harness = Fixtures.harness(snapshot: DashboardSnapshot(version: 1, databasePath: "/tmp/empty.sqlite3"))
        harness.frame()
        #expect(harness.text.contains("No connections yet."))
        #expect(harness.text.contains("tokentop import FILE"))
        #expect(harness.text.contains("tokentop demo"))
        #expect(harness.screen.text[1] == " 0 connections")
        #expect(!harness.text.contains("User ("))
    }

    /// The notice the refresh actor sets when it cannot store a refresh in a read-only file: SQLite's result code
    /// turned into words by the store's own error table, behind the actor's "database problem: " prefix.
    static let readOnlyNotice: String = {
        let error = SQLiteDatabase.error(8, "attempt to write a readonly database", path: "/srv/tt.sqlite3", doing: "")
        return "database problem: \(error)"
    }()

    @Test func noticeGetsItsOwnLine() {
        let notice = Self.readOnlyNotice
        #expect(
            notice == "database problem: cannot write the database /srv/tt.sqlite3 (attempt to write a readonly "
                + "database); make the file and its directory writable (chmod u+w), or choose another file with --db")
        let lines = Fixtures.harness(columns: 200, snapshot: Fixtures.snapshot(notice: notice)).frame()
        #expect(lines[2] == " ! \(notice)")
        #expect(lines[3].contains("STATUS"))
        // Narrower than the notice: it wraps onto a second line, indented, so that its remedy still shows.
        let narrow = Fixtures.harness(columns: 120, snapshot: Fixtures.snapshot(notice: notice)).frame()
        #expect(narrow[2].hasPrefix(" ! database problem: cannot write the database /srv/tt.sqlite3"))
        #expect(narrow[3].hasPrefix("   "), "\(narrow[3])")
        #expect(narrow[3].hasSuffix("or choose another file with --db"), "\(narrow[3])")
        #expect(narrow[4].contains("STATUS"))
        // Longer than two lines: the second ends in an ellipsis rather than pushing the table further down.
        let long = Fixtures.harness(columns: 80, rows: 24, snapshot: Fixtures.snapshot(notice: notice + notice))
            .frame()
        #expect(long[3].hasSuffix("…") && long[3].displayWidth == 80, "\(long[3])")
        #expect(long[4].contains("STATUS"))
    }

    @Test func eachOpenProviderBreakerIsOneBannerLine() {
        let error = ProviderError(kind: .transient, error: "server_error", status: 503)
        let outages = ["acme-crm", "globex", "hooli", "initech"].map { provider in
            ProviderOutage(
                provider: provider, since: Fixtures.at(-60), heldRefreshes: 37, nextProbeAt: Fixtures.at(12),
                lastError: error)
        }
        let two = Fixtures.harness(snapshot: Fixtures.snapshot(outages: Array(outages.prefix(2)))).frame()
        #expect(
            two[2] == " ! provider acme-crm is failing: 37 refreshes paused, next try in 12s (server_error (HTTP 503))")
        #expect(two[3].hasPrefix(" ! provider globex is failing: 37 refreshes paused"))
        #expect(two[4].contains("STATUS"))
        // More than fit: the notice, one banner, then one line naming the rest; the table keeps its room.
        let notice = Self.readOnlyNotice
        let many = Fixtures.harness(columns: 200, snapshot: Fixtures.snapshot(notice: notice, outages: outages)).frame()
        #expect(many[2] == " ! \(notice)")
        #expect(many[3].hasPrefix(" ! provider acme-crm is failing"))
        #expect(many[4] == " ! 3 more providers are failing (111 refreshes paused): globex, hooli, initech")
        #expect(many[5].contains("STATUS"))
        // A banner wider than the screen ends in an ellipsis.
        let narrow = Fixtures.harness(columns: 80, rows: 24, snapshot: Fixtures.snapshot(outages: [outages[0]])).frame()
        #expect(narrow[2].hasSuffix("…") && narrow[2].displayWidth == 80, "\(narrow[2])")
        // With nothing else queued, the header counts what the breakers hold rather than "no refresh scheduled".
        var held = Fixtures.snapshot(outages: outages)
        held.inFlight = []
        held.nextDue = nil
        #expect(Fixtures.harness(snapshot: held).frame()[0].hasSuffix("148 refreshes held"))
    }

    /// Rows the store could not read get a notice line of their own, after the core's and the outages', cut at the
    /// screen's edge: a two-line notice and two outages keep their three lines, and the table comes after.
    @Test func unreadableRowsAreNamedUnderTheNoticeWithinItsLines() {
        var snapshot = Fixtures.snapshot(notice: Self.readOnlyNotice)
        snapshot.unreadable = [UnreadableConnection(id: "acme-9", problem: "the scope is \"galaxy\"")]
        let lines = Fixtures.harness(columns: 200, snapshot: snapshot).frame()
        #expect(lines[2] == " ! \(Self.readOnlyNotice)")
        #expect(
            lines[3]
                == " ! 1 unreadable, not refreshed (`tokentop show ID`): acme-9")
        #expect(lines[4].contains("STATUS"))
        let error = ProviderError(kind: .transient, error: "server_error", status: 503)
        var crowded = Fixtures.snapshot(
            notice: Self.readOnlyNotice + " " + Self.readOnlyNotice,
            outages: ["acme-crm", "globex"].map {
                ProviderOutage(
                    provider: $0, since: Fixtures.at(-60), heldRefreshes: 1, nextProbeAt: nil, lastError: error)
            })
        crowded.unreadable = (1...30).map { UnreadableConnection(id: "acme-\($0)", problem: "damaged") }
        let frame = Fixtures.harness(columns: 80, rows: 24, snapshot: crowded).frame()
        #expect(frame[2].hasPrefix(" ! ") && frame[3].hasPrefix("   "))
        #expect(frame[4].hasPrefix(" ! 2 more providers are failing"), "\(frame[4])")
        #expect(frame[5].hasPrefix(" ! 30 unreadable, not refreshed (`tokentop show ID`): acme-1, acme-2, "))
        #expect(frame[5].hasSuffix("…"), "\(frame[5])")
        #expect(frame[6].contains("STATUS"), "\(frame[6])")
    }

    @Test func stylesComeFromTheirRoles() throws {
        let harness = Fixtures.harness()
        let lines = harness.frame()
        let theme = Theme.builtIn
        let carol = try #require(lines.firstIndex { $0.contains(" slack-carol ") })
        #expect(harness.screen.style(row: carol, column: 1) == theme[.status(.needsReauth)])
        let alice = try #require(lines.firstIndex { $0.contains(" gh-alice ") })
        #expect(harness.screen.style(row: alice, column: 1) == theme[.cursor])
        #expect(harness.screen.style(row: alice, column: 100) == theme[.cursor])
        let header = try #require(lines.firstIndex { $0.hasPrefix("Bot (") })
        #expect(harness.screen.style(row: header, column: 0) == theme[.groupHeader])
    }

    @Test func controlCharactersFromTheProviderAreDefused() throws {
        var snapshot = Fixtures.snapshot()
        snapshot.events.append(
            HistoryEntry(
                at: Fixtures.at(-1), connectionID: "gh-alice", kind: .refreshFailed, message: "bad\u{1B}[2Jbody"))
        let harness = Fixtures.harness(snapshot: snapshot)
        harness.frame()
        #expect(try #require(harness.line(containing: "bad")).contains("bad�[2Jbody"))
    }
}

extension DashboardRenderTests {
    @Test func longProviderTextWrapsAtSpacesAndStaysVerbatim() throws {
        let description =
            "The refresh token is invalid,  expired or revoked; see https://provider.example/docs/"
            + "errors#invalid_grant_with_a_very_long_anchor_that_cannot_fit_on_one_line_at_all for details."
        var connections = Fixtures.connections
        connections[0].lastError = ProviderError(
            kind: .invalidGrant, error: "invalid_grant", errorDescription: description)
        let harness = Fixtures.harness(columns: 80, rows: 60, snapshot: Fixtures.snapshot(connections: connections))
        harness.frame()
        harness.press(.enter)
        let lines = DetailContent(dashboard: harness.dashboard, id: "gh-alice", now: Fixtures.now).lines(width: 80)
        let first = try #require(lines.firstIndex { $0.text.hasPrefix("   error_description ") })
        let indent = lines[first].segments[0].text.count
        var pieces = [lines[first].segments[1].text]
        for line in lines[(first + 1)...] {
            guard line.segments.count == 2, line.segments[0].text == String(repeating: " ", count: indent) else {
                break
            }
            pieces.append(line.segments[1].text)
        }
        #expect(
            pieces == [
                "The refresh token is invalid,  expired or revoked; see ",
                "https://provider.example/docs/errors#invalid_grant_with_",
                "a_very_long_anchor_that_cannot_fit_on_one_line_at_all ",
                "for details.",
            ])
        #expect(pieces.joined() == description)
        #expect(lines.allSatisfy { $0.text.count <= 80 })
    }
}
