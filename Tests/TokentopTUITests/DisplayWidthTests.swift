import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// Grapheme clusters are the unit of width, and what reaches the terminal takes exactly the cells the canvas gave.
@Suite struct DisplayWidthTests {
    static let developer = "👩‍💻 dev"

    @Test(
        arguments: [
            ("a", 1), ("é", 1), ("e\u{301}", 1), ("日", 2), ("Ａ", 2), ("👩‍💻", 2), ("👨‍👩‍👧", 2), ("✍🏽", 2), ("🇫🇷", 2),
            ("❤️", 2), ("❤", 1), ("1️⃣", 2), ("🛜", 2), ("\u{301}", 0), ("\u{200D}", 0), ("\u{FE0F}", 0), ("●", 1),
        ] as [(Character, Int)])
    func characterWidth(character: Character, width: Int) {
        #expect(character.displayWidth == width)
    }

    @Test func textWidthCountsClusters() {
        #expect(Self.developer.count == 5)
        #expect(Self.developer.displayWidth == 6)
        #expect(Self.developer.padded(toWidth: 8) == Self.developer + "  ")
        #expect("👩‍💻👩‍💻👩‍💻".truncated(toWidth: 5) == "👩‍💻👩‍💻…")
    }

    @Test func canvasKeepsAClusterWholeInItsCells() {
        var canvas = Canvas(size: TerminalSize(rows: 1, columns: 10))
        #expect(canvas.put("x" + Self.developer, row: 0, column: 0, style: .plain) == 7)
        #expect(canvas[0, 1].text == "👩‍💻")
        #expect(canvas[0, 2].isContinuation)
        #expect(canvas[0, 3].text == " ")
        #expect(canvas.lines[0] == "x👩‍💻 dev   ")
        // Overwriting its second cell blanks the first: no half of it stays.
        canvas.put("y", row: 0, column: 2, style: .plain)
        #expect(canvas.lines[0] == "x y dev   ")
    }

    @Test(
        arguments: [
            ("plain ascii", "plain ascii"),
            ("👩‍💻 dev", "👩 dev"),
            ("e\u{301}tude 日本", "e\u{301}tude 日本"),
            ("❤️ ok", "❤  ok"),
            ("✍🏽!", "✍ !"),
        ] as [(String, String)])
    func terminalGetsWhatFitsTheCanvasCells(text: String, sent: String) {
        let encoded = TerminalText.encode(text, scalarWidth: \.cellWidth)
        #expect(encoded.unicodeScalars.elementsEqual(sent.unicodeScalars))
        #expect(encoded.unicodeScalars.reduce(0) { $0 + $1.cellWidth } == text.displayWidth)
    }

    @Test func aCharacterTheTerminalCannotPrintBecomesQuestionMarks() {
        // A terminal whose wcwidth does not know U+1F6DC (Unicode 15) says -1 for it.
        let encoded = TerminalText.encode("🛜 wifi") { $0.value == 0x1F6DC ? -1 : $0.cellWidth }
        #expect(encoded == "?? wifi")
    }

    /// In a C or POSIX locale the terminal can print no character past ASCII: the dashboard's own symbols and lines
    /// are drawn in ASCII, as wide as the canvas has them, where they were rows of question marks.
    @Test func aTerminalThatPrintsOnlyASCIIGetsTheDashboardsGlyphsInASCII() {
        let asciiOnly: (Unicode.Scalar) -> Int = { $0.isASCII ? 1 : -1 }
        #expect(TerminalText.encode("● healthy  ■ static ✓  ├─ kim-graph  🔒 read-only", scalarWidth: asciiOnly)
            == "* healthy  # static +  |- kim-graph  [] read-only")
        // Each status keeps a symbol of its own.
        let symbols = ConnectionStatus.allCases.map { TerminalText.encode($0.symbol, scalarWidth: asciiOnly) }
        #expect(Set(symbols).count == ConnectionStatus.allCases.count, "\(symbols)")
        #expect(symbols.allSatisfy { $0.count == 1 && $0 != "?" }, "\(symbols)")
        // Text that is not the dashboard's own, a subject's, still shows that something is there.
        #expect(TerminalText.encode("日本", scalarWidth: asciiOnly) == "????")
    }

    @Test func controlAndFormatCharactersAreUnsafeAndPrintableOnesAreNot() {
        let unsafe: [Character] = ["\u{0}", "\u{1B}", "\n", "\u{7F}", "\u{85}", "\u{202E}", "\u{2028}", "\u{200D}"]
        #expect(unsafe.filter { !$0.isUnsafeForTerminal }.isEmpty)
        let safe: [Character] = [" ", "a", "~", "é", "…", "●", "👩‍💻", "🇩🇪"]
        #expect(safe.filter(\.isUnsafeForTerminal).isEmpty)
    }

    // MARK: - On the dashboard

    private func harness(subject: String) -> Harness {
        var connections = Fixtures.connections
        connections[1].subject = subject  // gh-zoe
        return Fixtures.harness(snapshot: Fixtures.snapshot(connections: connections))
    }

    @Test func aZWJEmojiSubjectKeepsItsRowAligned() throws {
        let emoji = harness(subject: Self.developer)
        emoji.frame()
        let plain = harness(subject: "ab dev")
        plain.frame()
        // The frame holds the cluster whole; the terminal gets the part every terminal draws 2 cells wide.
        let frame = DashboardRenderer(theme: .builtIn).render(emoji.dashboard, now: Fixtures.now)
        #expect(frame.lines.contains { $0.contains(" gh-zoe ") && $0.contains(Self.developer + " ") })
        let row = try #require(emoji.line(containing: " gh-zoe "))
        let expected = try #require(plain.line(containing: " gh-zoe ")).replacingOccurrences(
            of: "ab dev", with: "👩 dev")
        #expect(row == expected)
        #expect(row.hasSuffix("45s   59m ago     0"))
        #expect(emoji.screen.text == plain.screen.text.map { $0.replacingOccurrences(of: "ab dev", with: "👩 dev") })
    }

    @Test func changingAZWJEmojiSubjectLeavesNoStaleCells() throws {
        let harness = harness(subject: "zoë@example.com")
        harness.frame()
        let original = try #require(harness.line(containing: " gh-zoe "))
        harness.backend.publish { $0.connections[1].subject = Self.developer + " 👩‍💻👩‍💻" }
        harness.frame()
        // The cursor passes over the row and leaves it: the row is rewritten in two styles.
        harness.press(.down, .down)
        harness.backend.publish { $0.connections[1].subject = "zoë@example.com" }
        harness.press(.up, .up)
        #expect(try #require(harness.line(containing: " gh-zoe ")) == original)
        let fresh = self.harness(subject: "zoë@example.com")
        fresh.frame()
        #expect(harness.screen.text == fresh.screen.text)
    }
}
