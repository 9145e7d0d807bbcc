/// What a screen sends the terminal for a run of canvas cells, so that the terminal's idea of each character's
/// width agrees with the canvas.
///
/// curses and most terminals place text scalar by scalar with `wcwidth`, while the canvas gives a whole grapheme
/// cluster its cells (see ``Swift/Character/displayWidth``). Where the two agree the character is sent as it is.
/// Where they do not, as for `👩‍💻` (2 cells on the canvas, 2 + 0 + 2 by `wcwidth`), a terminal may draw it 2 or
/// 4 cells wide and nobody can tell which; sending it whole would shift the rest of the row and leave stale cells.
/// Such a character is sent as its first scalar with that scalar's marks (`👩`), padded with spaces to its cells,
/// or as `?` when even that does not fit: the row stays aligned on every terminal.
enum TerminalText {
    /// The text to write for `text`, whose characters take `Character.displayWidth` cells each.
    ///
    /// - Parameter scalarWidth: the terminal's width of one scalar: `wcwidth` for a real terminal; negative for a
    ///   scalar it cannot print.
    static func encode(_ text: String, scalarWidth: (Unicode.Scalar) -> Int) -> String {
        if text.isPrintableASCII { return text }
        var result = ""
        result.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for character in text {
            let cells = character.displayWidth
            guard cells > 0 else { continue }
            if character.asciiValue != nil {
                result.append(character)
                continue
            }
            result.unicodeScalars.append(contentsOf: encode(character, cells: cells, scalarWidth: scalarWidth))
        }
        return result
    }

    private static func encode(
        _ character: Character, cells: Int, scalarWidth: (Unicode.Scalar) -> Int
    ) -> [Unicode.Scalar] {
        let scalars = Array(character.unicodeScalars)
        let widths = scalars.map(scalarWidth)
        let joins = scalars.contains { $0.value == 0x200D }
        if !joins, widths.allSatisfy({ $0 >= 0 }), widths.reduce(0, +) == cells { return scalars }
        if widths.contains(where: { $0 < 0 }), let plain = asciiStandIns[character], plain.count == cells {
            // A terminal that cannot print it at all (a C or POSIX locale) gets the dashboard's own glyphs in ASCII,
            // as htop draws its meters there, rather than a row of question marks.
            return Array(plain.unicodeScalars)
        }
        let base = widths[0]
        guard base > 0, base <= cells else { return Array(repeating: "?", count: cells) }
        if base < cells {
            // A variation selector would ask for the wider form the terminal may not draw: padding keeps the cells.
            return [scalars[0]] + Array(repeating: " ", count: cells - base)
        }
        // The base's own marks, up to the first joiner or the next scalar that takes room.
        var kept = [scalars[0]]
        for (scalar, width) in zip(scalars.dropFirst(), widths.dropFirst()) {
            guard width == 0, scalar.value != 0x200D else { break }
            kept.append(scalar)
        }
        return kept
    }

    /// The dashboard's own symbols and lines in ASCII, as wide as they are drawn. Each status keeps a symbol of its
    /// own (its word is always beside it); a tree's branches stay branches.
    static let asciiStandIns: [Character: String] = [
        "●": "*", "◐": "%", "↻": "@", "▲": "^", "✕": "x", "⊘": "/", "■": "#",
        "✓": "+", "✗": "x", "×": "x", "…": ".", "·": ".", "—": "-", "–": "-", "“": "\"", "”": "\"",
        "─": "-", "│": "|", "├": "|", "└": "`", "┌": "+", "┐": "+", "┘": "+",
        "┬": "+", "┴": "+", "┼": "+",
        "↑": "^", "↓": "v", "→": ">", "←": "<", "↵": "<", "🔒": "[]", "±": "+", "½": "/",
    ]
}
