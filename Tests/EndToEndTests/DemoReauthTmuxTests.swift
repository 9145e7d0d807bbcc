import Foundation
import Testing

/// `a` on the demo's refused user, in the real dashboard in tmux: the device flow against the in-process sandbox,
/// whose pretend user approves the code some seconds later, with no network at all.
@Suite(.serialized)
struct DemoReauthTmuxTests {
    @Test func aOnAcmeFrankShowsAUserCodeAndEndsReauthorized() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(width: 120, height: 60, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-frank") }
        try tmux.send("/")
        try tmux.send("acme-frank", literal: true)
        try tmux.send("Enter")
        screen = try await tmux.wait {
            DashboardTmuxTests.row(of: "acme-frank", in: $0) != nil && !$0.contains("acme-alice")
        }
        #expect(DashboardTmuxTests.row(of: "acme-frank", in: screen) != nil, "not filtered:\n\(screen)")

        try tmux.send("a")
        screen = try await tmux.wait { $0.contains("enter the code") }
        #expect(screen.contains("┌ Re-auth acme-frank "), "no dialog:\n\(screen)")
        #expect(screen.contains("https://acme-crm.sandbox.invalid/device/a-pretend-user-approves-in-8s"), "\(screen)")
        let userCode = #"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}"#
        #expect(screen.range(of: userCode, options: .regularExpression) != nil, "no user code on screen:\n\(screen)")
        #expect(screen.contains("checking every 2s"))

        // The pretend user approves 8 s after the code was issued; the next poll at most 2 s later gets the tokens.
        screen = try await tmux.wait(timeout: 20) { $0.contains("Re-authorized acme-frank") }
        #expect(screen.contains("✓ Re-authorized acme-frank (frank@example.com)."), "no outcome:\n\(screen)")
        #expect(screen.contains("refresh token stored."))
        try tmux.send("Enter")
        // The demo's short-lived token may be renewed at once (`↻ refreshing` for a moment); it settles as healthy.
        screen = try await tmux.wait {
            !$0.contains("Re-auth acme-frank")
                && DashboardTmuxTests.row(of: "acme-frank", in: $0)?.contains("● healthy") == true
        }
        #expect(DashboardTmuxTests.row(of: "acme-frank", in: screen)?.contains("● healthy") == true, "\(screen)")
        #expect(screen.contains("acme-frank re-authorized"), "no event:\n\(screen)")
        try tmux.send("Escape")
        try tmux.send("q")
    }
}
