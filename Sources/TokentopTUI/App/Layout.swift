/// Where each part of the dashboard goes at a terminal size.
struct Layout: Equatable {
    /// The event pane's height: a title line and the last five events.
    static let eventPaneHeight = 6

    let size: TerminalSize
    /// Two header lines: title and actor state, then the status counts.
    let header: Rect
    /// The core's notice (for example a database that cannot be written) and one banner line per provider outage,
    /// when there are any.
    let notice: Rect?
    let tableHeader: Rect
    /// The table's rows, below its column header.
    let table: Rect
    let events: Rect
    /// The message, filter prompt and position line.
    let message: Rect
    let hints: Rect
    /// Where a full-screen view (details) goes: everything between the header and the message line.
    let body: Rect

    init(size: TerminalSize, noticeLines: Int) {
        self.size = size
        let width = size.columns
        header = Rect(row: 0, column: 0, height: 2, width: width)
        var next = 2
        if noticeLines > 0 {
            notice = Rect(row: next, column: 0, height: noticeLines, width: width)
            next += noticeLines
        } else {
            notice = nil
        }
        hints = Rect(row: size.rows - 1, column: 0, height: 1, width: width)
        message = Rect(row: size.rows - 2, column: 0, height: 1, width: width)
        events = Rect(row: message.row - Self.eventPaneHeight, column: 0, height: Self.eventPaneHeight, width: width)
        tableHeader = Rect(row: next, column: 0, height: 1, width: width)
        table = Rect(row: next + 1, column: 0, height: max(0, events.row - next - 1), width: width)
        body = Rect(row: next, column: 0, height: max(0, message.row - next), width: width)
    }
}
