import Testing

@testable import TokentopTUI

@Suite struct CanvasTests {
    let size = TerminalSize(rows: 3, columns: 10)

    @Test func clipsAtTheRightEdgeAndTheGivenWidth() {
        var canvas = Canvas(size: size)
        #expect(canvas.put("tokentop dashboard", row: 0, column: 2, style: .plain) == 8)
        #expect(canvas.put("abcdef", row: 1, column: 0, width: 3, style: .plain) == 3)
        #expect(canvas.put("ignored", row: 5, column: 0, style: .plain) == 0)
        #expect(canvas.lines == ["  tokentop", "abc       ", "          "])
    }

    @Test func wideCharactersTakeTwoCellsAndNeverHalfOne() {
        var canvas = Canvas(size: size)
        canvas.put("日本語です", row: 0, column: 0, style: .plain)
        #expect(canvas.lines[0] == "日本語です")
        canvas.put("日本語です", row: 1, column: 1, style: .plain)
        #expect(canvas.lines[1] == " 日本語で ")
        // Overwriting either half of a wide character blanks its other half.
        canvas.put("x", row: 0, column: 2, style: .plain)
        #expect(canvas.lines[0] == "日x 語です")
        canvas.put("y", row: 0, column: 1, style: .plain)
        #expect(canvas.lines[0] == " yx 語です")
    }

    @Test func controlCharactersNeverReachTheTerminal() {
        var canvas = Canvas(size: size)
        canvas.put("a\u{1B}[2Jb\u{202E}c\td", row: 0, column: 0, style: .plain)
        #expect(canvas.lines[0] == "a�[2Jb�c d")
    }

    @Test func changesAreOnlyTheCellsThatDiffer() {
        let bold = Style(attributes: [.bold])
        var first = Canvas(size: size)
        first.put("12:00:00", row: 0, column: 0, style: .plain)
        var second = first
        second.put("12:00:01", row: 0, column: 0, style: .plain)
        second.put("!", row: 2, column: 9, style: bold)
        #expect(
            second.changes(since: first) == [
                Canvas.Run(row: 0, column: 7, text: "1", style: .plain),
                Canvas.Run(row: 2, column: 9, text: "!", style: bold),
            ])
        #expect(second.changes(since: second).isEmpty)
        #expect(second.changes(since: nil).count == 4)
    }

    @Test func aChangedWideCharacterIsRewrittenWhole() {
        var first = Canvas(size: size)
        first.put("ab漢c", row: 0, column: 0, style: .plain)
        var second = first
        second.put("字", row: 0, column: 2, style: .plain)
        #expect(second.changes(since: first) == [Canvas.Run(row: 0, column: 2, text: "字", style: .plain)])
    }

    @Test(
        arguments: [
            ("alice@example.com", 8, "alice@e…"),
            ("short", 8, "short"),
            ("日本語です", 5, "日本…"),
            ("anything", 0, ""),
        ] as [(String, Int, String)])
    func truncatesToDisplayWidth(text: String, width: Int, expected: String) {
        #expect(text.truncated(toWidth: width) == expected)
        #expect(text.truncated(toWidth: width).displayWidth <= width)
    }

    @Test func truncatesPathsFromTheLeft() {
        #expect("/home/op/.local/share/tokentop.sqlite3".truncatedFromLeft(toWidth: 18) == "…/tokentop.sqlite3")
    }

    @Test func wrapsAtSpacesAndSplitsLongWords() {
        #expect("Revoke gh-alice now please".wrapped(toWidth: 10) == ["Revoke", "gh-alice", "now please"])
        #expect("abcdefghijkl".wrapped(toWidth: 5) == ["abcde", "fghij", "kl"])
    }
}
