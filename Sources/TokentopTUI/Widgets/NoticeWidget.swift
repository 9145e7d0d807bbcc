import Foundation
import TokentopCore

/// The core's dashboard-wide notice, such as a database that cannot be written, one banner line per provider whose
/// refreshes are paused by its circuit breaker, and a line for the stored rows it cannot read.
struct NoticeWidget: Widget {
    /// At most this many lines, so that a wide outage never pushes the table off the screen.
    static let maximumLines = 3

    /// The notice wraps onto at most this many lines: its remedy comes last, and one line cut it off.
    static let maximumNoticeLines = 2

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let lines = Self.lines(context.dashboard.snapshot, now: context.now, width: rect.width)
        for (row, line) in lines.prefix(rect.height).enumerated() {
            // Cut with an ellipsis, so a long provider error never looks complete when it is not.
            canvas.line(line.truncated(toWidth: rect.width), in: rect, row: row, style: context.theme[.error])
        }
    }

    /// How many lines the notice area needs for `snapshot` on a screen `width` columns wide.
    static func lineCount(_ snapshot: DashboardSnapshot, width: Int) -> Int {
        min(maximumLines, noticeLines(snapshot.notice, width: width).count + snapshot.outages.count)
            + (snapshot.unreadable.isEmpty ? 0 : 1)
    }

    /// The notice as drawn, `!` first and its wrapped lines indented under it; the last cut with `…` when even
    /// ``maximumNoticeLines`` do not hold it.
    private static func noticeLines(_ notice: String?, width: Int) -> [String] {
        guard let notice else { return [] }
        let wrapped = notice.wrapped(toWidth: max(1, width - 3))
        var lines = wrapped.prefix(maximumNoticeLines).enumerated().map {
            ($0.offset == 0 ? " ! " : "   ") + $0.element
        }
        if wrapped.count > maximumNoticeLines, let last = lines.popLast() {
            lines.append((last + " " + wrapped[maximumNoticeLines]).truncated(toWidth: width))
        }
        return lines
    }

    /// The notice, then the outages; when they do not all fit, the last line names the providers left out. The
    /// rows the store could not read (``UnreadableConnection``) get one line more, last, cut at the screen's edge.
    static func lines(_ snapshot: DashboardSnapshot, now: Date, width: Int) -> [String] {
        var lines = noticeLines(snapshot.notice, width: width)
        let room = maximumLines - lines.count
        let outages = snapshot.outages
        if outages.count <= room {
            lines += outages.map { " ! " + $0.banner(at: now) }
        } else {
            lines += outages.prefix(room - 1).map { " ! " + $0.banner(at: now) }
            let rest = outages.dropFirst(room - 1)
            let held = rest.reduce(0) { $0 + $1.heldRefreshes }
            lines.append(
                " ! \(rest.count) more providers are failing (\(held) refreshes paused): "
                    + rest.map(\.provider).joined(separator: ", "))
        }
        if let unreadable = UnreadableConnection.notice(snapshot.unreadable) { lines.append(" ! " + unreadable) }
        return lines
    }
}
