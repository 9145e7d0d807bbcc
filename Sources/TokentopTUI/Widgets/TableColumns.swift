/// The connection table's columns and their widths at one screen width.
struct TableColumns {
    enum Alignment { case left, right }

    struct Column {
        let title: String
        let width: Int
        let alignment: Alignment
    }

    /// The status column fits the longest status with its symbol, `! needs-reauth`.
    static let statusWidth = 14
    /// The provider column is 10 cells at 80 columns and grows with the screen, up to 18.
    static func providerWidth(screenWidth: Int) -> Int { min(18, 10 + max(0, screenWidth - 80) / 8) }
    static let expiresWidth = 8
    static let refreshedWidth = 9
    static let failuresWidth = 5

    /// The mark column comes first; then status, connection, provider, subject, expires, refreshed, failures.
    let columns: [Column]

    init(width: Int) {
        let providerWidth = Self.providerWidth(screenWidth: width)
        let fixed =
            1 + Self.statusWidth + providerWidth + Self.expiresWidth + Self.refreshedWidth
            + Self.failuresWidth + 6
        let flexible = max(12, width - fixed)
        let idWidth = flexible * 45 / 100
        columns = [
            Column(title: "STATUS", width: Self.statusWidth, alignment: .left),
            Column(title: "CONNECTION", width: idWidth, alignment: .left),
            Column(title: "PROVIDER", width: providerWidth, alignment: .left),
            Column(title: "SUBJECT", width: flexible - idWidth, alignment: .left),
            Column(title: "EXPIRES", width: Self.expiresWidth, alignment: .right),
            Column(title: "REFRESHED", width: Self.refreshedWidth, alignment: .right),
            Column(title: "FAILS", width: Self.failuresWidth, alignment: .right),
        ]
    }

    /// Draws `cells` (one per column, with a role each) after the mark `mark` on `row`, over a filled line.
    func draw(
        mark: String, cells: [(text: String, style: Style)], row: Int, on canvas: inout Canvas, lineStyle: Style,
        width: Int
    ) {
        canvas.fill(Rect(row: row, column: 0, height: 1, width: width), style: lineStyle)
        var column = canvas.put(mark.padded(toWidth: 1), row: row, column: 0, style: lineStyle)
        for (index, spec) in columns.enumerated() where index < cells.count {
            let text =
                spec.alignment == .left
                ? cells[index].text.padded(toWidth: spec.width) : cells[index].text.rightAligned(toWidth: spec.width)
            canvas.put(text, row: row, column: column, width: spec.width, style: cells[index].style)
            column += spec.width + 1
        }
    }
}
