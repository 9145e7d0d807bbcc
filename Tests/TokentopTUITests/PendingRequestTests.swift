import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// A refresh or revoke the user asked for shows on its row and in the event pane until the core shows an outcome.
@Suite struct PendingRequestTests {
    private func eventLines(_ harness: Harness) -> [String] {
        let lines = harness.screen.text
        guard let title = lines.firstIndex(where: { $0.hasPrefix("─ Events") }) else { return [] }
        return Array(lines[title + 1..<title + Layout.eventPaneHeight])
    }

    @Test func revokeShowsRevokingUntilTheSnapshotShowsItRevoked() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("x"), .character("y"))
        #expect(harness.backend.calls.revoked == [["gh-alice"]])
        var row = try #require(harness.line(containing: " gh-alice "))
        #expect(row.hasPrefix(" … revoking     gh-alice "))
        #expect(
            eventLines(harness).last == " 00:00:00  gh-alice                  revoke requested, waiting for the result")
        // The oldest event made room; the core's newest are still there.
        #expect(
            eventLines(harness)[3] == " 23:59:40  gws-dave                  refresh failed: server_error (HTTP 503)")

        // A snapshot about another connection settles nothing.
        harness.backend.clock.advance(3)
        harness.backend.publish { $0.connections[1].failures = 1 }
        harness.frame()
        row = try #require(harness.line(containing: " gh-alice "))
        #expect(row.hasPrefix(" … revoking     gh-alice "))

        harness.backend.publish { snapshot in
            snapshot.connections[0].revokedAt = Fixtures.at(3)
            snapshot.connections[0].revokedAtProvider = true
        }
        harness.frame()
        row = try #require(harness.line(containing: " gh-alice "))
        #expect(row.hasPrefix(" ⊘ revoked      gh-alice "))
        #expect(!harness.text.contains("waiting for the result"))
        #expect(harness.dashboard.pending.isEmpty)
    }

    @Test func refreshShowsRefreshingUntilAnEventForItArrives() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.down, .character("r"))
        #expect(try #require(harness.line(containing: " gh-zoe ")).hasPrefix(" ↻ refreshing   gh-zoe "))
        #expect(
            eventLines(harness).last == " 00:00:00  gh-zoe                    refresh requested, waiting for the result"
        )
        // The detail view says what it waits for.
        harness.press(.enter)
        #expect(harness.screen.text[2].hasPrefix(" gh-zoe  ↻ refreshing  User · zoë@example.com"))
        #expect(harness.text.contains("requested           refresh at 2026-01-01 00:00:00 UTC, waiting for the result"))
        harness.press(.escape)

        harness.backend.clock.advance(2)
        harness.backend.publish { snapshot in
            snapshot.connections[1].failures = 1
            snapshot.events.append(
                HistoryEntry(
                    at: Fixtures.at(2), connectionID: "gh-zoe", kind: .refreshFailed,
                    message: "refresh failed: temporarily_unavailable (HTTP 503)"))
        }
        harness.frame()
        #expect(try #require(harness.line(containing: " gh-zoe ")).hasPrefix(" ▲ failing      gh-zoe "))
        #expect(
            eventLines(harness).last
                == " 00:00:02  gh-zoe                    refresh failed: temporarily_unavailable (HTTP 503)")
        #expect(!harness.text.contains("waiting for the result"))
    }

    @Test func refreshIsSettledWhenTheSnapshotShowsItInFlight() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("r"))
        #expect(harness.dashboard.pending.kind(of: "gh-alice") == .refresh)
        harness.backend.publish { $0.inFlight.insert("gh-alice") }
        harness.frame()
        #expect(harness.dashboard.pending.isEmpty)
        #expect(try #require(harness.line(containing: " gh-alice ")).hasPrefix(" ↻ refreshing   gh-alice "))
        #expect(!harness.text.contains("waiting for the result"))
    }

    @Test func severalMarkedRowsWaitTogetherAndSettleOneByOne() throws {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character(" "), .character(" "), .character(" "), .character("x"), .character("y"))
        #expect(harness.backend.calls.revoked == [["gh-alice", "gh-zoe", "slack-carol"]])
        #expect(
            eventLines(harness).last
                == " 00:00:00  3 connections             revoke requested: gh-alice, gh-zoe, slack-carol, waiting for"
                + " the result")
        harness.backend.publish { snapshot in
            snapshot.events.append(
                HistoryEntry(at: Fixtures.at(1), connectionID: "gh-zoe", kind: .revoked, message: "revoke failed"))
        }
        harness.frame()
        #expect(
            eventLines(harness).last
                == " 00:00:00  2 connections             revoke requested: gh-alice, slack-carol, waiting for the result"
        )
        #expect(try #require(harness.line(containing: " gh-zoe ")).hasPrefix(" ◐ expiring     gh-zoe "))
        #expect(try #require(harness.line(containing: " slack-carol ")).hasPrefix(" … revoking     slack-carol "))
    }

    @Test func revokingWhatIsAlreadyRevokedLeavesNothingWaiting() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("G"), .character("x"), .character("y"))
        // Said at once, and nothing sent (see aRevokedRowIsNotAskedAboutForRevoking).
        #expect(harness.backend.calls.revoked.isEmpty)
        #expect(harness.dashboard.pending.isEmpty)
        #expect(harness.line(containing: " slack-bot ")?.hasPrefix(" ⊘ revoked      slack-bot ") == true)
    }

    @Test func aConnectionThatVanishesStopsWaiting() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character("r"))
        harness.backend.publish { $0.connections.removeAll { $0.id == "gh-alice" } }
        harness.frame()
        #expect(harness.dashboard.pending.isEmpty)
        #expect(!harness.text.contains("waiting for the result"))
    }
}
