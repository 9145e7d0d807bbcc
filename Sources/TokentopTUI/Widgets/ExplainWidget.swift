/// The explainer view: ``ExplainContent``'s title and column headings stay put while the aspects scroll.
struct ExplainWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let theme = context.theme
        canvas.fill(rect, style: theme[.row])
        guard case .explain(let id) = context.dashboard.view, rect.height > 0 else { return }
        let content = ExplainContent(dashboard: context.dashboard, id: id)
        let header = content.header(width: rect.width)
        let body = content.body(width: rect.width)
        let height = max(0, rect.height - header.count)
        let top = min(context.dashboard.explainScroll, max(0, body.count - height))
        for (offset, line) in (header + body.dropFirst(top).prefix(height)).enumerated() {
            let row = rect.row + offset
            if offset == 1 {
                canvas.fill(
                    Rect(row: row, column: rect.column, height: 1, width: rect.width), style: theme[.tableHeader])
            }
            var column = rect.column
            for segment in line.segments {
                column += canvas.put(
                    segment.text, row: row, column: column, width: max(0, rect.column + rect.width - column),
                    style: theme[segment.role])
            }
        }
        if body.count > height {
            let more = " \(top + 1)-\(min(body.count, top + height)) of \(body.count) "
            canvas.putRight(more, in: rect, row: 0, style: theme[.label])
        }
    }
}
