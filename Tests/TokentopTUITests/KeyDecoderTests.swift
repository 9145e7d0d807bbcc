import Testing
import TokentopCore

@testable import TokentopTUI

/// Escape sequences that terminfo did not describe, as tmux with `TERM=xterm-256color` sends Home and End.
@Suite struct KeyDecoderTests {
    /// Decodes `input` (nil: a pause longer than the escape delay) into keys until it runs out.
    private func decode(_ input: [TerminalInput?]) -> [Key?] {
        var decoder = KeyDecoder()
        var remaining = input
        var keys: [Key?] = []
        while !remaining.isEmpty || decoder.hasPending {
            keys.append(
                decoder.nextKey(timeoutMilliseconds: 1_000) { _ in remaining.isEmpty ? nil : remaining.removeFirst() })
        }
        return keys
    }

    private func text(_ text: String) -> [TerminalInput?] { TerminalInput.characters(text) }

    @Test(
        arguments: [
            ("\u{1B}[1~", Key.home), ("\u{1B}[7~", .home), ("\u{1B}[H", .home), ("\u{1B}OH", .home),
            ("\u{1B}[4~", .end), ("\u{1B}[8~", .end), ("\u{1B}[F", .end), ("\u{1B}OF", .end),
            ("\u{1B}[5~", .pageUp), ("\u{1B}[6~", .pageDown), ("\u{1B}[5;5~", .pageUp),
            ("\u{1B}[A", .up), ("\u{1B}[B", .down), ("\u{1B}[C", .right), ("\u{1B}[D", .left),
            ("\u{1B}OA", .up), ("\u{1B}[1;5B", .down),
        ] as [(String, Key)])
    func knownSequencesBecomeKeys(sequence: String, key: Key) {
        #expect(decode(text(sequence)) == [key])
    }

    @Test(arguments: ["\u{1B}[2~", "\u{1B}[3;2~", "\u{1B}[201~", "\u{1B}[?1;2c", "\u{1B}[Z", "\u{1B}OP", "\u{1B}[I"])
    func unknownSequencesAreSwallowedWhole(sequence: String) {
        #expect(decode(text(sequence)) == [nil])
    }

    /// Between the bracketed-paste markers everything is text: a newline is no Enter, an ESC no Esc, and a false
    /// start of the end marker is text too.
    @Test(arguments: [
        ("acme-bob\nxy", "acme-bob\nxy"), ("a\u{1B}b\u{1B}[20c", "a\u{1B}b\u{1B}[20c"), ("", ""),
        ("zo\u{00EB} \u{1F600}", "zo\u{00EB} \u{1F600}"),
    ])
    func aBracketedPasteIsOneKeyOfText(pasted: String, text expected: String) {
        #expect(decode(text("\u{1B}[200~" + pasted + "\u{1B}[201~j")) == [.paste(expected), .character("j")])
    }

    @Test func aPasteIsCutAtItsLimitAndReadToItsEnd() {
        let long = String(repeating: "x", count: KeyDecoder.maximumPasteLength + 100)
        let keys = decode(text("\u{1B}[200~" + long + "\u{1B}[201~y"))
        #expect(keys == [.paste(String(repeating: "x", count: KeyDecoder.maximumPasteLength)), .character("y")])
    }

    @Test func aLoneEscapeIsEsc() {
        #expect(decode(text("\u{1B}")) == [.escape])
        // Esc, then a 4 typed after the escape delay: two keys.
        #expect(decode([.scalar("\u{1B}"), nil, .scalar("4")]) == [.escape, .character("4")])
        // Esc followed at once by anything but [ or O: the Esc, then that key.
        #expect(decode(text("\u{1B}j")) == [.escape, .character("j")])
        #expect(decode(text("\u{1B}\u{1B}")) == [.escape, .escape])
        #expect(decode([.scalar("\u{1B}"), .key(.down)]) == [.escape, .down])
    }

    @Test func aSequenceCutShortIsSwallowedAndWhatFollowsIsKept() {
        #expect(decode([.scalar("\u{1B}"), .scalar("["), .scalar("4"), nil, .scalar("j")]) == [nil, .character("j")])
        // A character that cannot be part of a sequence ends it and is decoded on its own.
        #expect(decode(text("\u{1B}[4\r")) == [nil, .enter])
        let endless = "\u{1B}[" + String(repeating: "1", count: KeyDecoder.maximumSequenceLength + 5)
        #expect(decode(text(endless)).prefix(1) == [nil])
    }

    @Test func textAroundSequencesIsUntouched() {
        #expect(decode(text("a\u{1B}[4~b")) == [.character("a"), .end, .character("b")])
    }

    // MARK: - Through the dashboard

    @Test func endAndHomeAsCSISequencesMoveTheCursorAndKeepTheScope() {
        let harness = Fixtures.harness()
        harness.frame()
        var lines = harness.send("\u{1B}[4~")
        #expect(harness.dashboard.cursorConnection?.id == "slack-bot")
        #expect(harness.dashboard.scope == nil)
        #expect(lines[38].hasSuffix("sort: group  10/10"))
        #expect(lines.filter { $0.hasSuffix(")") && !$0.hasPrefix(" ") }.count == 5)
        lines = harness.send("\u{1B}[1~")
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        #expect(harness.dashboard.scope == nil)
        #expect(lines[38].hasSuffix("sort: group  1/10"))
        harness.send("\u{1B}[8~\u{1B}OH")
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
        #expect(harness.dashboard.scope == nil)
    }

    @Test func pageKeysAsSequencesPageTheTable() {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        harness.send("\u{1B}[6~")
        #expect(harness.dashboard.cursorConnection?.id != "gh-alice")
        #expect(harness.dashboard.scope == nil)
        harness.send("\u{1B}[5~")
        #expect(harness.dashboard.cursorConnection?.id == "gh-alice")
    }

    @Test func unknownSequencesChangeNothing() {
        let harness = Fixtures.harness()
        let before = harness.frame()
        let after = harness.send("\u{1B}[2~\u{1B}[3;5~\u{1B}[15~\u{1B}[Z")
        #expect(after == before)
        #expect(harness.dashboard.scope == nil)
        #expect(harness.dashboard.overlay == nil)
    }

    @Test func aLoneEscapeStillClearsTheFilter() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.send("/dave\r")
        #expect(harness.dashboard.filter == "dave")
        harness.send([.scalar("\u{1B}"), nil, .scalar("4")])
        #expect(harness.dashboard.filter.isEmpty)
        // The 4 came after the escape delay: it is a key of its own.
        #expect(harness.dashboard.scope == .workspace)
    }
}
