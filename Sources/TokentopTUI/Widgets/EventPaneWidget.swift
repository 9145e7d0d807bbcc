import Foundation
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
        // The user's open requests are the newest lines until an outcome replaces them.
        let lines: [(text: String, failed: Bool)] =
            context.dashboard.snapshot.events.suffix(rect.height - 1).map { entry in
                let failed = entry.error != nil || entry.kind == .refreshFailed || entry.kind == .needsReauth
                    || entry.kind == .reauthFailed || entry.kind == .revocationFailed
                return (Self.line(at: entry.at, id: entry.connectionID, message: entry.message), failed)
            } + context.dashboard.pending.requests.map { (Self.line(for: $0), false) }
        if lines.isEmpty {
            canvas.put("  no events yet", row: rect.row + 1, column: rect.column, style: theme[.event])
        }
        for (offset, line) in lines.suffix(rect.height - 1).enumerated() {
            canvas.put(
                line.text, row: rect.row + 1 + offset, column: rect.column, width: rect.width,
                style: line.failed ? theme[.error] : theme[.event])
        }
    }

    private static func line(at date: Date, id: String, message: String) -> String {
        " \(TimeText.clock(date))  \(id.padded(toWidth: idWidth))  \(message)"
    }

    /// `revoke requested, waiting for the result`, or for several connections the ids still waiting.
    private static func line(for request: PendingRequests.Request) -> String {
        let kind = request.kind.rawValue
        guard request.ids.count > 1 else {
            return line(at: request.at, id: request.ids[0], message: "\(kind) requested, waiting for the result")
        }
        let shown = request.ids.prefix(3).joined(separator: ", ") + (request.ids.count > 3 ? ", …" : "")
        return line(
            at: request.at, id: "\(request.ids.count) connections",
            message: "\(kind) requested: \(shown), waiting for the result")
    }
}
