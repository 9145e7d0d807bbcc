import TokentopCore

/// The newest events of the refresh actor and the operator: time, connection, message.
struct EventPaneWidget: Widget {
    static let idWidth = 24

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let theme = context.theme
        canvas.fill(rect, style: theme[.row])
        let title = "─ Events (UTC) "
        canvas.put(
            title + String(repeating: "─", count: max(0, rect.width - title.displayWidth)), row: rect.row,
            column: rect.column, width: rect.width, style: theme[.groupHeader])
        let events = context.dashboard.snapshot.events.suffix(rect.height - 1)
        if events.isEmpty {
            canvas.put("  no events yet", row: rect.row + 1, column: rect.column, style: theme[.event])
        }
        for (offset, entry) in events.enumerated() {
            let failed = entry.error != nil || entry.kind == .refreshFailed || entry.kind == .needsReauth
            let text =
                " \(TimeText.clock(entry.at))  \(entry.connectionID.padded(toWidth: Self.idWidth))  "
                + entry.message
            canvas.put(
                text, row: rect.row + 1 + offset, column: rect.column, width: rect.width,
                style: failed ? theme[.error] : theme[.event])
        }
    }
}
