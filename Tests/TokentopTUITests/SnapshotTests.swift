import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// Whole screens compared with text files under `Snapshots/`; `RECORD_SNAPSHOTS=1 swift test` re-records them.
///
/// Every time on these screens comes from ``TestClock``, so the files do not change from run to run.
@Suite struct SnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots")

    static let prompt = ReauthPrompt(
        connectionID: "slack-carol", who: "the user carol@example.com must sign in again",
        reason: "Token has been expired or revoked.", url: "https://slack.example/oauth/v2/authorize?fake=1")

    @Test func list120x40() throws {
        try expectSnapshot(Fixtures.harness().frame(), named: "list-120x40")
    }

    @Test func list80x24() throws {
        try expectSnapshot(Fixtures.harness(columns: 80, rows: 24).frame(), named: "list-80x24")
    }

    @Test func detail120x40() throws {
        let harness = Fixtures.harness(prompts: ["slack-carol": Self.prompt])
        harness.frame()
        harness.press(.down, .down, .enter)
        try expectSnapshot(harness.press(.pageDown), named: "detail-slack-carol-120x40")
    }

    @Test func help80x24() throws {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        try expectSnapshot(harness.press(.character("?")), named: "help-80x24")
    }

    @Test func revokeDialog120x40() throws {
        let harness = Fixtures.harness()
        harness.frame()
        try expectSnapshot(harness.press(.character("x")), named: "revoke-120x40")
    }

    @Test func reauthDialog120x40() throws {
        let harness = Fixtures.harness(prompts: ["slack-carol": Self.prompt])
        harness.frame()
        try expectSnapshot(harness.press(.down, .down, .character("a")), named: "reauth-120x40")
    }

    @Test func signInDialog120x40() throws {
        let harness = Fixtures.harness()
        harness.backend.allowSignIn(["gh-alice"])
        harness.frame()
        harness.press(.character("a"))
        harness.backend.publishSignIn("gh-alice", SignInDialogTests.browser)
        try expectSnapshot(harness.frame(), named: "sign-in-120x40")
    }

    @Test func explain80x24() throws {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        try expectSnapshot(harness.press(.down, .down, .down, .character("i")), named: "explain-stripe-acme-80x24")
    }

    @Test func emptyDatabase80x24() throws {
        let snapshot = DashboardSnapshot(version: 1, databasePath: "/home/op/.local/share/tokentop/tokentop.sqlite3")
        try expectSnapshot(Fixtures.harness(columns: 80, rows: 24, snapshot: snapshot).frame(), named: "empty-80x24")
    }

    @Test func tooSmall79x23() throws {
        try expectSnapshot(Fixtures.harness(columns: 79, rows: 23).frame(), named: "too-small-79x23")
    }

    private func expectSnapshot(
        _ lines: [String], named name: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let url = Self.directory.appendingPathComponent("\(name).txt")
        let actual = lines.joined(separator: "\n") + "\n"
        let record = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
        guard !record, FileManager.default.fileExists(atPath: url.path) else {
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            if !record {
                Issue.record("recorded the new snapshot \(name).txt; check it in", sourceLocation: sourceLocation)
            }
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "screen differs from Snapshots/\(name).txt", sourceLocation: sourceLocation)
    }
}
