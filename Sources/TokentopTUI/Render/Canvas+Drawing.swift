extension Canvas {
    /// Fills row `row` of `rect` with `style` and writes `text` from its left edge.
    mutating func line(_ text: String, in rect: Rect, row: Int, style: Style) {
        fill(Rect(row: rect.row + row, column: rect.column, height: 1, width: rect.width), style: style)
        put(text, row: rect.row + row, column: rect.column, width: rect.width, style: style)
    }

    /// Writes `text` so that it ends at the right edge of `rect` on row `row`.
    ///
    /// - Returns: the column where the text starts.
    @discardableResult
    mutating func putRight(_ text: String, in rect: Rect, row: Int, style: Style) -> Int {
        let shown = text.truncated(toWidth: rect.width)
        let column = rect.column + rect.width - shown.displayWidth
        put(shown, row: rect.row + row, column: column, style: style)
        return column
    }

    /// Draws a bordered box filling `rect`, with `title` in its top border, and blanks its inside.
    mutating func box(_ rect: Rect, title: String, style: Style) {
        guard rect.height >= 2, rect.width >= 2 else { return }
        fill(rect, style: style)
        let inner = rect.width - 2
        put("┌" + String(repeating: "─", count: inner) + "┐", row: rect.row, column: rect.column, style: style)
        for row in rect.row + 1..<rect.bottom - 1 {
            put("│", row: row, column: rect.column, style: style)
            put("│", row: row, column: rect.column + rect.width - 1, style: style)
        }
        let bottom = "└" + String(repeating: "─", count: inner) + "┘"
        put(bottom, row: rect.bottom - 1, column: rect.column, style: style)
        if !title.isEmpty {
            put(" \(title) ".truncated(toWidth: inner), row: rect.row, column: rect.column + 1, style: style)
        }
    }
}

extension String {
    /// The text cut from the left to at most `width` cells, starting with `…` when something was cut.
    func truncatedFromLeft(toWidth width: Int) -> String {
        guard width > 0 else { return "" }
        if displayWidth <= width { return self }
        return String(String(reversed()).truncated(toWidth: width).dropLast().reversed()).prepending("…")
    }

    private func prepending(_ prefix: String) -> String { prefix + self }

    /// The text broken at spaces into lines of at most `width` cells; words longer than a line are split.
    func wrapped(toWidth width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in split(separator: "\n", omittingEmptySubsequences: false) {
            var current = ""
            for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
                var word = String(word)
                let separator = current.isEmpty ? "" : " "
                if current.displayWidth + separator.count + word.displayWidth <= width {
                    current += separator + word
                    continue
                }
                if !current.isEmpty { lines.append(current) }
                current = ""
                while word.displayWidth > width {
                    var head = ""
                    for character in word {
                        if !head.isEmpty, head.displayWidth + character.displayWidth > width { break }
                        head.append(character)
                    }
                    lines.append(head)
                    word = String(word.dropFirst(head.count))
                }
                current = word
            }
            lines.append(current)
        }
        return lines
    }
}
