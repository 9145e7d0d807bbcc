/// The detail view: the lines of ``DetailContent``; the title line stays put while the rest scrolls.
struct DetailWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let theme = context.theme
        canvas.fill(rect, style: theme[.row])
        guard case .detail(let id) = context.dashboard.view, rect.height > 0 else { return }
        let lines = DetailContent(dashboard: context.dashboard, id: id, now: context.now).lines(width: rect.width)
        let rest = lines.dropFirst()
        let height = rect.height - 1
        let top = min(context.dashboard.detailScroll, max(0, rest.count - height))
        for (offset, line) in ([lines[0]] + rest.dropFirst(top).prefix(height)).enumerated() {
            var column = rect.column
            for segment in line.segments {
                column += canvas.put(
                    segment.text, row: rect.row + offset, column: column,
                    width: rect.column + rect.width - column, style: theme[segment.role])
            }
        }
        if rest.count > height {
            let more = " \(top + 1)-\(min(rest.count, top + height)) of \(rest.count) "
            canvas.putRight(more, in: rect, row: 0, style: theme[.label])
        }
    }
}
