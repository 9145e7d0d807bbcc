/// An in-memory terminal for render tests and headless runs: a grid of cells, a script of keys.
///
/// It places what it is given as a terminal does: scalar by scalar, each ``Unicode/Scalar/cellWidth`` cells wide,
/// with zero-width scalars joining the cell before them. So a character the canvas counts differently from a
/// terminal shows up here as a shifted row, as it would on a real one.
final class GridScreen: Screen {
    private(set) var size: TerminalSize
    private var grid: Canvas
    /// Keys that ``readKey(timeoutMilliseconds:)`` returns, first to last.
    var keys: [Key]
    /// Raw input decoded as a terminal's is, before ``keys``: nil stands for a pause longer than the escape delay.
    var input: [TerminalInput?] = []
    private var decoder = KeyDecoder()

    /// Whether raw input remains to be read or decoded.
    var hasUnreadInput: Bool { !input.isEmpty || decoder.hasPending }
    /// Called when a read finds no scripted key, with the timeout the caller asked for; a test advances its
    /// clock here, standing in for the time a real terminal would wait.
    var onIdleWait: ((Int) -> Void)?
    /// Every timeout asked of ``readKey(timeoutMilliseconds:)``.
    private(set) var requestedTimeouts: [Int] = []
    /// How many times ``put(_:style:row:column:)`` was called since creation or ``resetCounters()``.
    private(set) var putCount = 0
    private(set) var flushCount = 0
    private(set) var isClosed = false
    /// Every text put on the clipboard, oldest first.
    private(set) var clipboard: [String] = []
    /// Whether this screen plays a terminal that takes OSC 52.
    var acceptsClipboard = true

    init(columns: Int, rows: Int, keys: [Key] = []) {
        size = TerminalSize(rows: rows, columns: columns)
        grid = Canvas(size: size)
        self.keys = keys
    }

    /// The screen as lines, trailing spaces removed.
    var text: [String] {
        grid.lines.map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
    }

    /// The style drawn at `row`, `column`.
    func style(row: Int, column: Int) -> Style { grid[row, column].style }

    /// Every style anywhere on the screen.
    var stylesInUse: Set<Style> {
        var styles: Set<Style> = []
        for row in 0..<size.rows {
            for column in 0..<size.columns { styles.insert(grid[row, column].style) }
        }
        return styles
    }

    /// Changes the size, as a terminal window resize does, and queues ``Key/resize`` first.
    func resize(columns: Int, rows: Int) {
        size = TerminalSize(rows: rows, columns: columns)
        grid = Canvas(size: size)
        keys.insert(.resize, at: 0)
    }

    func resetCounters() {
        putCount = 0
        flushCount = 0
    }

    func put(_ text: String, style: Style, row: Int, column: Int) {
        putCount += 1
        if text.isPrintableASCII {
            grid.put(text, row: row, column: column, style: style)
            return
        }
        var at = column
        var previous: Int?
        for scalar in TerminalText.encode(text, scalarWidth: \.cellWidth).unicodeScalars {
            let width = scalar.cellWidth
            if width == 0 {
                if let previous { grid.attach(scalar, row: row, column: previous) }
                continue
            }
            grid.put(String(scalar), row: row, column: at, style: style)
            previous = at
            at += width
        }
    }

    func clear() {
        grid = Canvas(size: size)
    }

    func flush() {
        flushCount += 1
    }

    func readKey(timeoutMilliseconds: Int) -> Key? {
        requestedTimeouts.append(timeoutMilliseconds)
        if hasUnreadInput {
            return decoder.nextKey(timeoutMilliseconds: timeoutMilliseconds) { _ in
                input.isEmpty ? nil : input.removeFirst()
            }
        }
        if !keys.isEmpty { return keys.removeFirst() }
        onIdleWait?(timeoutMilliseconds)
        return nil
    }

    func copyToClipboard(_ text: String) -> Bool {
        guard acceptsClipboard else { return false }
        clipboard.append(text)
        return true
    }

    func close() {
        isClosed = true
    }
}
