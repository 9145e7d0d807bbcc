/// Shown instead of the dashboard on a terminal smaller than 80×24.
struct TooSmallWidget: Widget {
    static func message(for size: TerminalSize) -> String {
        "tokentop needs at least \(TerminalSize.minimum) (now \(size))"
    }

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        canvas.fill(rect, style: context.theme[.row])
        let message = Self.message(for: context.dashboard.size)
        let quits = "\(context.dashboard.keyMap.label(.quit)) quits"
        // Too narrow for one line: the sizes go on a line of their own rather than being cut off mid-number.
        let lines =
            message.displayWidth <= rect.width
            ? [message, quits]
            : ["tokentop needs at least", "\(TerminalSize.minimum)", "(now \(context.dashboard.size))", quits]
        for (offset, line) in lines.enumerated() {
            let shown = line.truncated(toWidth: rect.width)
            let area = rect.centered(height: lines.count, width: shown.displayWidth)
            canvas.put(shown, row: area.row + offset, column: area.column, style: context.theme[.row])
        }
    }
}
