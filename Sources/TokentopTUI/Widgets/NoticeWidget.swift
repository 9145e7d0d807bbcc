import Foundation
import TokentopCore

/// The core's dashboard-wide notice, such as a database that cannot be written, and one banner line per provider
/// whose refreshes are paused by its circuit breaker.
struct NoticeWidget: Widget {
    /// At most this many lines, so that a wide outage never pushes the table off the screen.
    static let maximumLines = 3

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        for (row, line) in Self.lines(context.dashboard.snapshot, now: context.now).prefix(rect.height).enumerated() {
            // Cut with an ellipsis, so a long provider error never looks complete when it is not.
            canvas.line(" ! \(line)".truncated(toWidth: rect.width), in: rect, row: row, style: context.theme[.error])
        }
    }

    /// How many lines the notice area needs for `snapshot`.
    static func lineCount(_ snapshot: DashboardSnapshot) -> Int {
        min(maximumLines, (snapshot.notice == nil ? 0 : 1) + snapshot.outages.count)
    }

    /// The notice, then the outages; when they do not all fit, the last line names the providers left out.
    static func lines(_ snapshot: DashboardSnapshot, now: Date) -> [String] {
        var lines = snapshot.notice.map { [$0] } ?? []
        let room = maximumLines - lines.count
        let outages = snapshot.outages
        if outages.count <= room {
            lines += outages.map { $0.banner(at: now) }
        } else {
            lines += outages.prefix(room - 1).map { $0.banner(at: now) }
            let rest = outages.dropFirst(room - 1)
            let held = rest.reduce(0) { $0 + $1.heldRefreshes }
            lines.append(
                "\(rest.count) more providers are failing (\(held) refreshes paused): "
                    + rest.map(\.provider).joined(separator: ", "))
        }
        return lines
    }
}
