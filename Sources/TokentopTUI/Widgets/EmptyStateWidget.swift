/// What an empty database shows instead of a table: how to begin.
struct EmptyStateWidget: Widget {
    /// The lines, naming `quit`, the key that quits now.
    static func text(quit: String = "q") -> [String] {
        [
            "No connections yet.",
            "",
            "Import your credentials:   tokentop import FILE",
            "Or watch a live demo:      tokentop demo",
            "",
            "Press \(quit) to quit.",
        ]
    }

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let text = Self.text(quit: context.dashboard.keyMap.label(.quit))
        let width = text.map(\.displayWidth).max() ?? 0
        let area = rect.centered(height: text.count, width: width)
        for (offset, line) in text.enumerated() where offset < area.height {
            let style = offset == 0 ? context.theme[.groupHeader] : context.theme[.row]
            canvas.put(line, row: area.row + offset, column: area.column, width: area.width, style: style)
        }
    }
}
