import Foundation
import Testing

/// `a` in the real dashboard, in tmux, against django-oauth-toolkit: the dialog shows the sign-in URL and puts it
/// on the clipboard (tmux takes OSC 52 with `set-clipboard on`); the fixture user signs in; the dialog and the
/// row show the outcome.
@Suite(.serialized)
struct ReauthTmuxTests {
    @Test func aSignsAUserInFromTheDashboard() async throws {
        let setup = try await ReauthInteropTests().setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let tmux = try Tmux(environment: setup.environment, directory: setup.sandbox.root)
        try Tmux.tmux(["-S", tmux.socket, "set-option", "-g", "set-clipboard", "on"])
        try tmux.send("\(Binary.path)", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("needs-reauth") }
        #expect(DashboardTmuxTests.row(of: "alice", in: screen)?.contains("! needs-reauth") == true, "\(screen)")

        try tmux.send("a")
        screen = try await tmux.wait { $0.contains("Waiting for the browser") }
        #expect(screen.contains("┌ Re-auth alice "), "no dialog:\n\(screen)")
        #expect(screen.contains("Open this URL in a browser and sign in as alice:"))
        #expect(screen.contains("Esc cancel  c copy again"))
        // The whole URL reached the clipboard, which a wrapped URL on screen could not give by selection.
        let url = try Tmux.tmux(["-S", tmux.socket, "show-buffer"])
        #expect(url.hasPrefix(setup.server.authorizeURL.absoluteString + "?response_type=code"), "buffer: \(url)")
        #expect(url.hasSuffix("code_challenge_method=S256"))

        let page = try setup.server.consent(to: url)
        #expect(page["title"] as? String == "tokentop: Signed in")
        screen = try await tmux.wait(timeout: 15) { $0.contains("Re-authorized alice") }
        #expect(screen.contains("✓ Re-authorized alice (alice)."), "no outcome:\n\(screen)")
        #expect(screen.contains("Enter/Esc close"))
        try tmux.send("Enter")
        // Waits for what closing leaves, not for the dialog's title to go: a capture taken while the terminal was
        // being redrawn once lacked the title with the rest of the dialog still there.
        screen = try await tmux.wait { !$0.contains("Enter/Esc close") && $0.contains("alice re-authorized") }
        #expect(DashboardTmuxTests.row(of: "alice", in: screen)?.contains("● healthy") == true, "\(screen)")
        #expect(screen.contains("alice re-authorized"))
        try tmux.send("q")
        #expect(try setup.show("alice")["status"] as? String == "healthy")
    }
}
