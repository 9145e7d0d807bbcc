/// The `?` overlay: every key of the key table, and what it does.
struct HelpWidget: Widget {
    static func lines(_ keys: KeyMap) -> [String] {
        let labelWidth = 8
        var lines = keys.bindings.map { $0.label.padded(toWidth: labelWidth) + "  " + $0.summary }
        lines += KeyBinding.elsewhere.map { $0.label.padded(toWidth: labelWidth) + "  " + $0.summary }
        return lines
    }

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let lines = Self.lines(context.dashboard.keyMap)
        let width = min(rect.width - 2, (lines.map(\.displayWidth).max() ?? 0) + 4)
        let box = rect.centered(height: min(rect.height, lines.count + 2), width: width)
        let style = context.theme[.help]
        canvas.box(box, title: "tokentop keys", style: style)
        for (offset, line) in lines.prefix(box.height - 2).enumerated() {
            canvas.put(line, row: box.row + 1 + offset, column: box.column + 2, width: box.width - 4, style: style)
        }
    }
}
