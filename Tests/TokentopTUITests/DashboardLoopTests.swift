import Foundation
import Glibc
import Testing
import TokentopCore

@testable import TokentopTUI

@Suite struct DashboardLoopTests {
    @Test(
        arguments: [
            (0.0, 1_000), (0.25, 750), (0.999, 1), (0.9999, 1), (0.5004, 500),
        ] as [(Double, Int)])
    func waitsUntilTheNextWholeSecond(fraction: Double, milliseconds: Int) {
        let now = TestClock.start.addingTimeInterval(fraction)
        #expect(DashboardLoop.millisecondsToNextSecond(after: now) == milliseconds)
    }

    @Test func countdownsTickOnceASecond() throws {
        let harness = Fixtures.harness()
        harness.backend.clock.advance(0.25)
        var seen: [String] = []
        var timeouts: [Int] = []
        harness.screen.onIdleWait = { milliseconds in
            timeouts.append(milliseconds)
            let row = harness.line(containing: " gh-zoe ") ?? ""
            seen.append(["45s", "44s", "43s", "42s"].first { row.contains(" \($0) ") } ?? row)
            harness.backend.clock.advance(Double(milliseconds) / 1_000)
        }
        harness.loop.run(maxIterations: 4)
        // The wait to each whole second is cut into quarters, to look whether the snapshot changed meanwhile.
        #expect(timeouts == Array(repeating: 250, count: 3 + 4 + 4))
        #expect(harness.loop.iterations == 4, "no frame between whole seconds when nothing changed")
        #expect(seen == ["45s", "45s", "45s", "44s", "44s", "44s", "44s", "43s", "43s", "43s", "43s"])
        #expect(try #require(harness.line(containing: " gh-zoe ")).contains(" 42s "))
    }

    @Test func aChangedSnapshotIsDrawnWithoutWaitingForTheSecond() {
        let harness = Fixtures.harness()
        var waits = 0
        harness.screen.onIdleWait = { milliseconds in
            waits += 1
            // Another process's refresh lands a quarter of a second into the wait.
            if waits == 1 { harness.backend.publish { $0.databasePath = "changed elsewhere" } }
            harness.backend.clock.advance(Double(milliseconds) / 1_000)
        }
        harness.loop.run(maxIterations: 2)
        #expect(waits == 1, "the second frame came after one slice, not at the whole second")
        #expect(harness.screen.requestedTimeouts == [250])
    }

    @Test func aPasteIntoTheFilterIsTakenWholeBeforeTheNextFrame() {
        let harness = Fixtures.harness()
        let pasted = String(repeating: "gh-zoe", count: 60)
        harness.screen.keys = [.character("/")] + pasted.map { Key.character($0) } + [.enter, .character("j")]
        harness.loop.run(maxIterations: 4)
        // A frame for `/`, one for the whole paste, one for Enter, one for `j`: not one for each of its keys.
        #expect(harness.loop.iterations == 4)
        #expect(harness.screen.keys.isEmpty)
        #expect(harness.dashboard.filter == String(pasted.unicodeScalars.prefix(Dashboard.filterLimit)))
        #expect(!harness.dashboard.isEditingFilter)
    }

    @Test func runsABoundedNumberOfFrames() {
        let harness = Fixtures.harness()
        harness.loop.run(maxIterations: 5)
        #expect(harness.loop.iterations == 5)
        #expect(harness.screen.flushCount == 5)
        // Four waits for a key, each cut into quarter seconds to look for a changed snapshot.
        #expect(harness.screen.requestedTimeouts.count == 4 * 4)
    }

    @Test func anUnchangedFrameWritesNothing() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.screen.resetCounters()
        harness.frame()
        #expect(harness.screen.putCount == 0)
        #expect(harness.screen.flushCount == 1)
        harness.press(.character("j"))
        // Moving the cursor rewrites the two rows it left and entered, and the position line.
        #expect(harness.screen.putCount > 0)
        #expect(harness.screen.putCount < 40)
    }

    @Test func rowsAreRebuiltWhenASnapshotMovesARowNotPerFrame() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.frame()
        harness.frame()
        #expect(harness.dashboard.rowBuilds == 1)
        // A refresh or a failure changes a row's contents, not its place: the frame shows it, the rows stay.
        harness.backend.publish { $0.connections[0].failures = 1 }
        harness.frame()
        #expect(harness.dashboard.rowBuilds == 1)
        #expect(try #require(harness.line(containing: " gh-alice ")).contains("▲ failing"))
        harness.backend.publish { $0.connections.removeAll { $0.id == "gh-zoe" } }
        harness.frame()
        harness.frame()
        #expect(harness.dashboard.rowBuilds == 2)
        #expect(harness.line(containing: " gh-zoe ") == nil)
    }

    @Test func newSnapshotsShowUpInTheNextFrame() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.backend.publish { snapshot in
            snapshot.inFlight = []
            snapshot.events.append(
                HistoryEntry(
                    at: Fixtures.at(0), connectionID: "gh-zoe", kind: .refreshed, message: "token refreshed"))
            snapshot.connections[1].expiresAt = Fixtures.at(3_600)
        }
        let lines = harness.frame()
        #expect(lines.contains(" 00:00:00  gh-zoe                    token refreshed"))
        #expect(try #require(harness.line(containing: " gh-zoe ")).contains(" 1h00m "))
        #expect(try #require(harness.line(containing: " ghapp-inst-678 ")).contains("● healthy"))
    }

    @Test func resizeRepaintsAtTheNewSize() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.screen.resize(columns: 79, rows: 23)
        harness.press()
        #expect(harness.text.contains("tokentop needs at least 80×24 (now 79×23)"))
        harness.screen.resize(columns: 100, rows: 30)
        harness.press()
        #expect(!harness.text.contains("needs at least"))
        #expect(harness.screen.text.count == 30)
        #expect(harness.screen.text[29].hasPrefix(" q quit"))
    }

    /// A terminal made tiny scrolls the table to keep the cursor in view; grown back, the table shows its top again
    /// (it stayed scrolled, its first group's heading hidden, though there was room).
    @Test func aTableScrolledWhileTheTerminalWasTinyComesBackToItsTop() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.down, .down)
        let top = harness.screen.text[3]
        Self.resize(harness, columns: 200, rows: 5)
        #expect(harness.dashboard.scrollTop > 0)
        Self.resize(harness, columns: 120, rows: 40)
        harness.frame()
        #expect(harness.dashboard.scrollTop == 0)
        #expect(harness.screen.text[3] == top, "\(harness.screen.text[3])")
    }

    @Test func keysStillWorkOnASmallTerminal() {
        let harness = Fixtures.harness(columns: 60, rows: 20)
        harness.screen.keys = [.character("q")]
        harness.loop.run(maxIterations: 10)
        #expect(harness.dashboard.shouldQuit)
    }

    /// Resizes the screen and lets the loop take the resize, so that the next keys pressed are all handled.
    static func resize(_ harness: Harness, columns: Int, rows: Int) {
        harness.screen.resize(columns: columns, rows: rows)
        harness.loop.run(maxIterations: harness.loop.iterations + 2)
    }

    /// Below 80×24 only the size message shows, so no key may act on what it hides: not `x` `y` on the cursor row,
    /// not `r`, `a`, Enter, a mark, the filter, the sort or a scope.
    @Test func aSmallTerminalIgnoresEveryKeyButQuit() throws {
        let harness = Fixtures.harness()
        harness.frame()
        Self.resize(harness, columns: 60, rows: 20)
        harness.press(
            .character("x"), .character("y"), .character("r"), .character("a"), .enter, .character(" "),
            .character("/"), .character("s"), .character("?"), .character("i"), .character("c"), .down,
            .character("3"), .escape)
        #expect(harness.text.contains("tokentop needs at least 80×24 (now 60×20)"))
        #expect(harness.backend.calls == TestBackend.Calls(), "no command reached the core")
        let dashboard = harness.dashboard
        #expect(dashboard.overlay == nil && dashboard.view == .list && dashboard.marked.isEmpty)
        #expect(dashboard.filter.isEmpty && !dashboard.isEditingFilter && dashboard.scope == nil)
        #expect(dashboard.sort == .group && dashboard.copyRequest == nil && dashboard.pending.isEmpty)
        #expect(dashboard.cursorConnection?.id == "gh-alice")
        #expect(!dashboard.shouldQuit)
        // Back at a usable size nothing is waiting for a `y`.
        Self.resize(harness, columns: 120, rows: 40)
        harness.press(.character("y"))
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(try #require(harness.line(containing: " gh-alice ")).contains("● healthy"))
    }

    /// A confirmation that was open when the terminal shrank stays unanswered until it can be seen again.
    @Test func aDialogHiddenBySmallTerminalCannotBeConfirmedBlind() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("x"))
        #expect(harness.dashboard.overlay == .confirmRevoke(ids: ["gh-alice"]))
        Self.resize(harness, columns: 79, rows: 24)
        harness.press(.character("y"), .enter)
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(harness.dashboard.overlay == .confirmRevoke(ids: ["gh-alice"]))
        Self.resize(harness, columns: 120, rows: 40)
        #expect(harness.text.contains("Revoke gh-alice"), "the question shows again:\n\(harness.text)")
        harness.press(.character("n"))
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(harness.text.contains("revoke cancelled"))
    }

    /// The message names the quit key in force, and only that key quits.
    @Test func aSmallTerminalQuitsByTheReboundQuitKey() throws {
        let harness = Fixtures.harness(columns: 60, rows: 20)
        harness.dashboard.keyMap = try KeyMap(overrides: ["quit": "Q"])
        harness.press(.character("q"))
        #expect(!harness.dashboard.shouldQuit)
        #expect(harness.text.contains("Q quits"))
        harness.press(.character("Q"))
        #expect(harness.dashboard.shouldQuit)
    }

    @Test func aSignalEndsTheLoop() {
        let harness = Fixtures.harness()
        harness.screen.keys = [.signal(SIGTERM), .character("j")]
        harness.loop.run(maxIterations: 10)
        #expect(harness.loop.endedBySignal == SIGTERM)
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
    }

    @Test func withoutATerminalRunDashboardSaysSo() throws {
        // Under `swift test` output goes to a pipe, and CI has no standard input; a developer's tty is skipped.
        guard isatty(STDIN_FILENO) == 0 || isatty(STDOUT_FILENO) == 0 else { return }
        let backend = TestBackend(snapshot: Fixtures.snapshot())
        #expect(throws: TerminalError.notATerminal) {
            try runDashboard(backend: backend, themesDirectory: nil, maxIterations: 1)
        }
    }

    @Test func aBadThemeIsReportedBeforeTheTerminalIsTouched() throws {
        let backend = TestBackend(snapshot: Fixtures.snapshot())
        #expect(throws: ThemeError.self) {
            try runDashboard(backend: backend, themesDirectory: nil, themeName: "no-such-theme", maxIterations: 1)
        }
    }

    @Test func terminalErrorsSayHowToFixThem() {
        #expect(TerminalError.terminalTypeUnset.description.contains("TERM=xterm-256color"))
        #expect(TerminalError.unknownTerminal("vt9000").description.contains("'vt9000'"))
        #expect(TerminalError.notATerminal.description.contains("tokentop list"))
        #expect(TerminalError.interrupted(signal: SIGINT).exitCode == 130)
    }

    @Test func aHundredThousandConnectionsRenderOnlyWhatIsVisible() throws {
        let connections = (0..<100_000).map { index in
            Connection(
                id: String(format: "conn-%06d", index), integrationID: "github-oauth",
                scope: IdentityScope.allCases[index % 5], subject: "user\(index)@example.com", credential: .oauth2,
                grant: .refreshToken, refreshFingerprint: "…\(index)", issuedAt: Fixtures.at(-600),
                expiresAt: Fixtures.at(Double(600 + index % 7_200)), createdAt: Fixtures.at(-86_400))
        }
        let harness = Fixtures.harness(snapshot: Fixtures.snapshot(connections: connections))
        harness.frame()
        #expect(harness.screen.text[38].hasSuffix("1/100000"))
        harness.screen.resetCounters()
        harness.press(.character("G"))
        #expect(harness.tableShows("conn-099999"))
        #expect(harness.screen.text[38].hasSuffix("100000/100000"))
        #expect(harness.dashboard.rowBuilds == 1)
        harness.press(.character("/"))
        harness.type("user4242@")
        #expect(harness.dashboard.rows.connectionPositions.count == 1)
        #expect(harness.tableShows("conn-004242"))
    }
}
