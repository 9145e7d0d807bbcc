/// The off-screen cell buffer a frame is drawn into before it is flushed to a ``Screen``.
///
/// Drawing never touches the terminal; ``changes(since:)`` tells which cells differ from the previous frame, so
/// that only those are written.
struct Canvas: Equatable {
    /// One screen cell: a character and its style. A wide character's second cell holds "" and the same style.
    struct Cell: Equatable {
        var text: String
        var style: Style

        var isContinuation: Bool { text.isEmpty }
    }

    /// Consecutive changed cells of one style on one row, ready for ``Screen/put(_:style:row:column:)``.
    struct Run: Equatable {
        var row: Int
        var column: Int
        var text: String
        var style: Style
    }

    let size: TerminalSize
    private var cells: [Cell]

    /// The cell text of each ASCII byte.
    private static let asciiCells: [String] = (0..<128).map { String(UnicodeScalar(UInt8($0))) }

    init(size: TerminalSize, style: Style = .plain) {
        self.size = size
        cells = Array(repeating: Cell(text: " ", style: style), count: max(0, size.rows * size.columns))
    }

    subscript(row: Int, column: Int) -> Cell { cells[row * size.columns + column] }

    /// Every row as text, wide characters once, trailing spaces kept.
    var lines: [String] {
        (0..<size.rows).map { row in
            (0..<size.columns).reduce(into: "") { $0 += self[row, $1].text }
        }
    }

    /// Fills `rect` (clipped to the canvas) with spaces in `style`.
    mutating func fill(_ rect: Rect, style: Style) {
        for row in max(0, rect.row)..<min(size.rows, rect.bottom) {
            for column in max(0, rect.column)..<min(size.columns, rect.column + rect.width) {
                set(row, column, Cell(text: " ", style: style))
            }
        }
    }

    /// Writes `text` at `row`, `column`, at most `width` cells wide (default: to the right edge), clipped to the
    /// canvas. Characters that could control the terminal are shown as `�`.
    ///
    /// - Returns: the number of cells written.
    @discardableResult
    mutating func put(_ text: String, row: Int, column: Int, width: Int? = nil, style: Style) -> Int {
        guard row >= 0, row < size.rows, column < size.columns else { return 0 }
        let limit = min(size.columns, column + (width ?? size.columns))
        var at = column
        // Most text on the dashboard is printable ASCII: one cell per byte, no grapheme breaking or property lookup.
        if text.isPrintableASCII {
            for byte in text.utf8 {
                guard at < limit else { break }
                if at >= 0 { set(row, at, Cell(text: Self.asciiCells[Int(byte)], style: style)) }
                at += 1
            }
            return max(0, at - max(column, 0))
        }
        for character in text {
            let shown: Character = character == "\t" ? " " : (character.isUnsafeForTerminal ? "�" : character)
            let cellWidth = shown.displayWidth
            if cellWidth == 0 { continue }
            if at + cellWidth > limit {
                // A wide character that does not fit leaves a blank rather than half a glyph.
                if at < limit { set(row, at, Cell(text: " ", style: style)) }
                at = limit
                break
            }
            if at >= 0 {
                set(row, at, Cell(text: String(shown), style: style))
                if cellWidth == 2 { set(row, at + 1, Cell(text: "", style: style)) }
            }
            at += cellWidth
        }
        return max(0, at - max(column, 0))
    }

    /// Adds a zero-width scalar (a combining mark, a joiner) to the character at `row`, `column`, as a terminal
    /// joins it to the cell written before it.
    mutating func attach(_ scalar: Unicode.Scalar, row: Int, column: Int) {
        guard row >= 0, row < size.rows, column >= 0, column < size.columns else { return }
        cells[row * size.columns + column].text.unicodeScalars.append(scalar)
    }

    /// The runs of cells that differ from `previous`; every cell when there is no previous frame of this size.
    func changes(since previous: Canvas?) -> [Run] {
        let previous = previous?.size == size ? previous : nil
        var runs: [Run] = []
        for row in 0..<size.rows {
            var current: Run?
            var column = 0
            while column < size.columns {
                let cell = self[row, column]
                let unitWidth = column + 1 < size.columns && self[row, column + 1].isContinuation ? 2 : 1
                let changed =
                    previous.map { old in
                        (column..<column + unitWidth).contains { old[row, $0] != self[row, $0] }
                    } ?? true
                if changed, !cell.isContinuation {
                    if var run = current, run.style == cell.style {
                        run.text += cell.text
                        current = run
                    } else {
                        if let run = current { runs.append(run) }
                        current = Run(row: row, column: column, text: cell.text, style: cell.style)
                    }
                } else if let run = current {
                    runs.append(run)
                    current = nil
                }
                column += unitWidth
            }
            if let run = current { runs.append(run) }
        }
        return runs
    }

    /// Stores `cell`, blanking the halves of any wide character it overwrites.
    private mutating func set(_ row: Int, _ column: Int, _ cell: Cell) {
        guard row >= 0, row < size.rows, column >= 0, column < size.columns else { return }
        let index = row * size.columns + column
        if cells[index].isContinuation, column > 0, !cell.isContinuation {
            cells[index - 1].text = " "
        }
        if !cells[index].isContinuation, column + 1 < size.columns, cells[index + 1].isContinuation {
            cells[index + 1].text = " "
        }
        cells[index] = cell
    }
}
