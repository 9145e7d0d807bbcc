/// The core's dashboard-wide notice, such as a database that cannot be written.
struct NoticeWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        guard let notice = context.dashboard.snapshot.notice else { return }
        canvas.line(" ! \(notice)", in: rect, row: 0, style: context.theme[.error])
    }
}
