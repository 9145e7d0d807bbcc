import Foundation

/// Draws a whole frame of the dashboard into a fresh ``Canvas``.
struct DashboardRenderer {
    let theme: Theme

    func render(_ dashboard: Dashboard, now: Date) -> Canvas {
        var canvas = Canvas(size: dashboard.size, style: theme[.row])
        let layout = dashboard.layout
        let context = RenderContext(dashboard: dashboard, theme: theme, now: now, layout: layout)
        let screen = Rect(row: 0, column: 0, height: dashboard.size.rows, width: dashboard.size.columns)
        guard dashboard.size.isLargeEnough else {
            TooSmallWidget().draw(in: screen, on: &canvas, context: context)
            return canvas
        }
        HeaderWidget().draw(in: layout.header, on: &canvas, context: context)
        if let notice = layout.notice { NoticeWidget().draw(in: notice, on: &canvas, context: context) }
        switch dashboard.view {
        case .list:
            let table = Rect(
                row: layout.tableHeader.row, column: 0, height: layout.table.height + 1,
                width: layout.table.width)
            TableWidget().draw(in: table, on: &canvas, context: context)
            EventPaneWidget().draw(in: layout.events, on: &canvas, context: context)
        case .detail:
            DetailWidget().draw(in: layout.body, on: &canvas, context: context)
        case .explain:
            ExplainWidget().draw(in: layout.body, on: &canvas, context: context)
        }
        MessageWidget().draw(in: layout.message, on: &canvas, context: context)
        HintBarWidget().draw(in: layout.hints, on: &canvas, context: context)
        switch dashboard.overlay {
        case .help: HelpWidget().draw(in: screen, on: &canvas, context: context)
        case .some(let overlay): DialogWidget(overlay: overlay).draw(in: screen, on: &canvas, context: context)
        case nil: break
        }
        return canvas
    }
}
