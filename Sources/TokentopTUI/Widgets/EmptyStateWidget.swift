/// What an empty database shows instead of a table: how to begin.
struct EmptyStateWidget: Widget {
    static let text = [
        "No connections yet.",
        "",
        "Import your credentials:   tokentop import FILE",
        "Or watch a live demo:      tokentop demo",
        "",
        "Press q to quit.",
    ]

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let width = Self.text.map(\.displayWidth).max() ?? 0
        let area = rect.centered(height: Self.text.count, width: width)
        for (offset, line) in Self.text.enumerated() where offset < area.height {
            let style = offset == 0 ? context.theme[.groupHeader] : context.theme[.row]
            canvas.put(line, row: area.row + offset, column: area.column, width: area.width, style: style)
        }
    }
}
