import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// A dashboard started with --readonly shows a lock and changes nothing.
@Suite struct ReadOnlyTests {
    static func harness() -> Harness {
        var snapshot = Fixtures.snapshot()
        snapshot.readOnly = true
        return Fixtures.harness(snapshot: snapshot)
    }

    @Test func theHeaderShowsALock() {
        let harness = Self.harness()
        let lines = harness.frame()
        #expect(lines[0].hasSuffix("🔒 read-only"), "\(lines[0])")
        // The lock is two columns wide; one blank column (trimmed here) ends the line at the screen's width.
        #expect(lines[0].displayWidth == 119)
    }

    @Test func refreshAndRevokeAreRefusedWithAReason() {
        let harness = Self.harness()
        harness.frame()
        harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed.isEmpty)
        #expect(harness.text.contains("read-only: tokentop was started with --readonly, so it does not refresh"))
        harness.press(.character("x"))
        #expect(harness.dashboard.overlay == nil)
        #expect(harness.text.contains("so it does not revoke"))
        harness.press(.character(" "), .character("r"))
        #expect(harness.backend.calls.refreshed.isEmpty)
    }
}
