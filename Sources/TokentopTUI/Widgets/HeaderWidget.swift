import Foundation
import TokentopCore

/// The two header lines: name, database and refresh actor; then the count of each status.
struct HeaderWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let theme = context.theme
        let snapshot = context.dashboard.snapshot
        let style = theme[.header]
        canvas.fill(rect, style: style)

        let state = Self.actorState(snapshot, now: context.now)
        let right = canvas.putRight(state + " ", in: rect, row: 0, style: style)
        let name = " tokentop  "
        canvas.put(name, row: rect.row, column: rect.column, style: style)
        let pathWidth = max(0, right - rect.column - name.displayWidth - 2)
        canvas.put(
            snapshot.databasePath.truncatedFromLeft(toWidth: pathWidth), row: rect.row,
            column: rect.column + name.displayWidth, style: style)

        let counts = context.dashboard.statusCounts(at: context.now)
        let total = snapshot.connections.count
        let lead = " " + counted(total, "connection")
        let shown = ConnectionStatus.allCases.compactMap { status -> (ConnectionStatus, Int)? in
            guard let count = counts[status], count > 0 else { return nil }
            return (status, count)
        }
        // The widest form that fits: `● 2 healthy`, then `●2 healthy`, then `●2` (the symbol still tells the
        // status).
        let forms: [(separator: String, label: (ConnectionStatus, Int) -> String)] = [
            ("  ", { "\($0.symbol) \($1) \($0.rawValue)" }),
            (" ", { "\($0.symbol)\($1) \($0.rawValue)" }),
            (" ", { "\($0.symbol)\($1)" }),
        ]
        let form =
            forms.first { form in
                lead.displayWidth + shown.reduce(0) { $0 + form.separator.count + form.label($1.0, $1.1).displayWidth }
                    <= rect.width
            } ?? forms[forms.count - 1]
        var column = rect.column + canvas.put(lead, row: rect.row + 1, column: rect.column, style: style)
        for (status, count) in shown {
            column += canvas.put(form.separator, row: rect.row + 1, column: column, style: style)
            column += canvas.put(
                form.label(status, count), row: rect.row + 1, column: column,
                style: theme[.status(status)])
        }
    }

    /// `refreshing N`, `next refresh in 4m05s`, `refresh due now` or `no refresh scheduled`.
    static func actorState(_ snapshot: DashboardSnapshot, now: Date) -> String {
        // A lock first, as vault and k9s mark a session that cannot change anything.
        if snapshot.readOnly { return "🔒 read-only" }
        if !snapshot.inFlight.isEmpty { return "refreshing \(snapshot.inFlight.count)" }
        let held = snapshot.outages.reduce(0) { $0 + $1.heldRefreshes }
        guard let due = snapshot.nextDue else {
            // Held refreshes are not in the queue, but they are scheduled: the banner says when they go out.
            return held > 0 ? counted(held, "refresh", "refreshes") + " held" : "no refresh scheduled"
        }
        if due <= now { return "refresh due now" }
        return "next refresh in \(Countdown.format(until: due, now: now))"
    }
}
