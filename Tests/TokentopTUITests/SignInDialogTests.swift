import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// The sign-in dialog on the in-memory screen: the core's progress as the dialog shows it, the clipboard, and the
/// keys. The backend stands in for the engine; the flows themselves are tested in the core and end to end.
@Suite struct SignInDialogTests {
    static let url = URL(
        string: "https://github.example/login/oauth/authorize?response_type=code&client_id=Iv1.fakeclient"
            + "&redirect_uri=http%3A%2F%2F127.0.0.1%3A49152%2Fcallback&scope=repo%20read%3Auser"
            + "&state=fake-state-0001&code_challenge=fake-challenge-0001&code_challenge_method=S256")!

    static let browser = ReauthProgress.waitingForBrowser(
        .init(url: url, redirectURI: "http://127.0.0.1:49152/callback", deadline: Fixtures.at(300)))

    static let device = ReauthProgress.waitingForDevice(
        .init(
            userCode: "WDJB-MJHT", verificationURI: URL(string: "https://github.example/login/device")!,
            verificationURIComplete: URL(string: "https://github.example/login/device?user_code=WDJB-MJHT")!,
            expiresAt: Fixtures.at(900), interval: 5))

    /// The lines inside the dialog's box, trimmed.
    static func boxLines(_ harness: Harness) -> [String] {
        harness.screen.text.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "│"), let close = line.lastIndex(of: "│"), open < close else {
                return nil
            }
            return line[line.index(after: open)..<close].trimmingCharacters(in: .whitespaces)
        }
    }

    /// The dialog's text with its wrapped lines joined again by spaces.
    static func dialog(_ harness: Harness) -> String {
        boxLines(harness).filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// The dashboard with `a` pressed on gh-alice, whose sign-in has reached `progress`.
    func opened(_ progress: ReauthProgress, clipboard: Bool = true, columns: Int = 120, rows: Int = 40) -> Harness {
        let harness = Fixtures.harness(columns: columns, rows: rows)
        harness.screen.acceptsClipboard = clipboard
        harness.backend.allowSignIn(["gh-alice"])
        harness.frame()
        harness.press(.character("a"))
        harness.backend.publishSignIn("gh-alice", progress)
        harness.frame()
        return harness
    }

    @Test func aOnAUserConnectionStartsTheSignInAndShowsTheURL() {
        let harness = opened(Self.browser)
        #expect(harness.backend.calls.signInsStarted == ["gh-alice"])
        #expect(harness.backend.calls.reauthPromptRequests.isEmpty)
        #expect(harness.dashboard.overlay == .signIn(id: "gh-alice"))
        #expect(harness.text.contains("┌ Re-auth gh-alice "))
        let text = Self.dialog(harness)
        #expect(text.contains("Open this URL in a browser and sign in as alice@example.com:"))
        // The URL wraps inside the box; joined back it is whole.
        #expect(Self.boxLines(harness).joined().contains(Self.url.absoluteString))
        #expect(text.contains("Sent the URL to the clipboard (OSC 52), where the terminal allows it; c sends it"))
        #expect(text.contains("Waiting for the browser to come back to http://127.0.0.1:49152/callback: 5m00s left."))
        #expect(harness.screen.clipboard == [Self.url.absoluteString])
        #expect(harness.screen.text[39] == " Esc cancel  c copy again")
    }

    @Test func theCountdownTicksWithTheClock() {
        let harness = opened(Self.browser)
        harness.backend.clock.advance(61)
        harness.frame()
        #expect(Self.dialog(harness).contains("3m59s left."))
        // Each URL goes to the clipboard once, however many frames show it.
        #expect(harness.screen.clipboard.count == 1)
    }

    @Test func aDeviceCodeIsShownWithWhereToEnterIt() {
        let harness = opened(Self.device)
        #expect(harness.text.contains("│ WDJB-MJHT "))
        let text = Self.dialog(harness)
        #expect(text.contains("On any device, open https://github.example/login/device and enter the code:"))
        #expect(text.contains("Or open https://github.example/login/device?user_code=WDJB-MJHT"))
        #expect(
            text.contains("Waiting for alice@example.com to approve: checking every 5s; the code expires in 15m00s."))
        #expect(harness.screen.clipboard == ["https://github.example/login/device?user_code=WDJB-MJHT"])
    }

    /// When the paragraphs and the blank lines between them do not fit (a long URL at 80×24), the blank lines go
    /// before any text does: the URL and the countdown under it stay whole.
    @Test func aLongURLOnAShortTerminalDropsTheBlankLinesBeforeAnyText() {
        let complete = "https://github.example/login/device?user_code=WDJB-MJHT&context="
            + String(repeating: "fake-context-0001", count: 50)
        let long = ReauthProgress.waitingForDevice(
            .init(
                userCode: "WDJB-MJHT", verificationURI: URL(string: "https://github.example/login/device")!,
                verificationURIComplete: URL(string: complete)!, expiresAt: Fixtures.at(900), interval: 5))
        let harness = opened(long, columns: 80, rows: 24)
        #expect(!Self.boxLines(harness).contains(""), "\(harness.text)")
        #expect(Self.boxLines(harness).joined().contains(complete), "\(harness.text)")
        #expect(Self.dialog(harness).hasSuffix("the code expires in 15m00s."), "\(harness.text)")
        // With room, the paragraphs keep their blank lines.
        #expect(Self.boxLines(opened(long, columns: 80, rows: 40)).contains(""))
    }

    @Test func aTerminalWithoutOSC52IsToldToCopyByHand() {
        let harness = opened(Self.browser, clipboard: false)
        #expect(
            Self.dialog(harness).contains("This terminal takes no clipboard sequence (OSC 52): copy the URL by hand."))
        #expect(harness.screen.clipboard.isEmpty)
    }

    @Test func cSendsTheURLAgain() {
        let harness = opened(Self.browser)
        harness.press(.character("c"))
        #expect(harness.screen.clipboard == [Self.url.absoluteString, Self.url.absoluteString])
        #expect(harness.dashboard.overlay == .signIn(id: "gh-alice"))
    }

    @Test(arguments: [Key.character("q"), .enter, .character("x"), .down, .character("a"), .character(" ")])
    func strayKeysNeitherCancelNorQuit(key: Key) {
        let harness = opened(Self.browser)
        harness.press(key)
        #expect(harness.dashboard.overlay == .signIn(id: "gh-alice"))
        #expect(!harness.dashboard.shouldQuit)
        #expect(harness.backend.calls.signInsCancelled.isEmpty)
        #expect(harness.backend.calls.revoked.isEmpty)
    }

    @Test func escCancelsARunningSignIn() {
        let harness = opened(Self.browser)
        let lines = harness.press(.escape)
        #expect(harness.backend.calls.signInsCancelled == ["gh-alice"])
        #expect(harness.dashboard.overlay == nil)
        #expect(lines[38].hasPrefix(" re-auth of gh-alice cancelled"))
        // A new sign-in does not keep the old "cancelled" under its own progress.
        let again = harness.press(.character("a"))
        #expect(harness.dashboard.overlay == .signIn(id: "gh-alice"))
        #expect(!again[38].contains("cancelled"))
    }

    @Test func theOutcomeIsShownUntilClosed() {
        let harness = opened(Self.browser)
        harness.backend.publishSignIn("gh-alice", .exchanging(.authorizationCode))
        #expect(harness.frame().joined().contains("Signed in. Fetching and storing the new tokens…"))
        var alice = Fixtures.connections[0]
        alice.expiresAt = Fixtures.at(3_600)
        harness.backend.publishSignIn("gh-alice", .succeeded(alice))
        harness.frame()
        let text = Self.dialog(harness)
        #expect(text.contains("✓ Re-authorized gh-alice (alice@example.com)."))
        #expect(text.contains("Expires in 1h00m; scopes: repo read:user; refresh token stored."))
        #expect(harness.screen.text[39] == " Enter/Esc close")
        let lines = harness.press(.enter)
        #expect(harness.dashboard.overlay == nil)
        #expect(harness.backend.calls.signInsCancelled == ["gh-alice"])
        #expect(lines[38].hasPrefix(" gh-alice re-authorized"))
    }

    @Test func aDatabaseThatCannotTakeTheTokensIsNamedAndEscGivesThemUp() {
        let harness = opened(Self.browser)
        let problem = "the database /tmp/t.db stayed locked by another process for more than 5 seconds"
        harness.backend.publishSignIn("gh-alice", .waitingToStore(problem))
        harness.frame()
        let text = Self.dialog(harness)
        #expect(
            text.contains(
                "Signed in, but the database cannot take the new tokens yet: the database /tmp/t.db stayed locked by "
                    + "another process for more than 5 seconds."), "\(text)")
        #expect(text.contains("Trying again for up to a minute; Esc gives them up, and gh-alice stays as it was."))
        #expect(harness.screen.text[39] == " Esc cancel")
        let lines = harness.press(.escape)
        #expect(harness.backend.calls.signInsCancelled == ["gh-alice"])
        #expect(lines[38].hasPrefix(" re-auth of gh-alice cancelled"))
    }

    @Test func aFailureSaysWhyAndNothingWasStored() {
        let harness = opened(Self.browser)
        let failure = ReauthFailure(
            .denied, "the user declined the consent (access_denied); nothing was stored")
        harness.backend.publishSignIn("gh-alice", .failed(failure))
        harness.frame()
        #expect(
            Self.dialog(harness)
                .contains("✕ Re-auth failed: the user declined the consent (access_denied); nothing was stored."))
        let lines = harness.press(.escape)
        #expect(harness.dashboard.overlay == nil)
        #expect(lines[38].hasPrefix(" re-auth of gh-alice failed: the user declined the consent"))
    }

    @Test func aConnectionWithoutASignInKeepsThePrompt() {
        let harness = Fixtures.harness()
        harness.backend.allowSignIn(["gh-alice"])
        harness.frame()
        harness.press(.down, .down, .character("a"))
        #expect(harness.dashboard.overlay == .reauth(id: "slack-carol", prompt: nil))
        #expect(harness.backend.calls.signInsStarted.isEmpty)
    }

    @Test func theClipboardSequenceIsOSC52() {
        #expect(
            TerminalClipboard.sequence(for: "https://x.example/?a=1")
                == "\u{1B}]52;c;aHR0cHM6Ly94LmV4YW1wbGUvP2E9MQ==\u{07}")
        #expect(TerminalClipboard.sequence(for: "evil\u{1B}]0;title\u{07}") == nil)
        #expect(TerminalClipboard.sequence(for: String(repeating: "a", count: 9_000)) == nil)
        #expect(TerminalClipboard.isUsable(environment: ["TERM": "xterm-256color"], outputIsTerminal: true))
        #expect(!TerminalClipboard.isUsable(environment: ["TERM": "xterm-256color"], outputIsTerminal: false))
        #expect(!TerminalClipboard.isUsable(environment: ["TERM": "linux"], outputIsTerminal: true))
        #expect(!TerminalClipboard.isUsable(environment: ["TERM": "dumb"], outputIsTerminal: true))
        #expect(!TerminalClipboard.isUsable(environment: [:], outputIsTerminal: true))
        #expect(
            !TerminalClipboard.isUsable(
                environment: ["TERM": "xterm", "TOKENTOP_NO_CLIPBOARD": "1"], outputIsTerminal: true))
    }
}
