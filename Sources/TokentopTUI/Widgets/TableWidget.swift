import Foundation
import TokentopCore

/// The connection table: column titles, group headers and the visible rows only.
struct TableWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let dashboard = context.dashboard
        let theme = context.theme
        let columns = TableColumns(width: rect.width)
        let headerStyle = theme[.tableHeader]
        columns.draw(
            mark: " ", cells: columns.columns.map { ($0.title, headerStyle) }, row: rect.row,
            on: &canvas, lineStyle: headerStyle, width: rect.width)
        let body = Rect(row: rect.row + 1, column: rect.column, height: rect.height - 1, width: rect.width)
        canvas.fill(body, style: theme[.row])

        if dashboard.snapshot.connections.isEmpty {
            return EmptyStateWidget().draw(in: body, on: &canvas, context: context)
        }
        let rows = dashboard.rows.rows
        let top = dashboard.scrollTop
        for (offset, row) in rows[min(top, rows.count)..<min(rows.count, top + body.height)].enumerated() {
            let line = body.row + offset
            switch row {
            case .group(let scope, let shown, let total):
                let count = shown == total ? "\(total)" : "\(shown) of \(total)"
                canvas.line(
                    "\(scope.title) (\(count))", in: Rect(row: line, column: 0, height: 1, width: body.width),
                    row: 0, style: theme[.groupHeader])
            case .subgroup(let title, let shown):
                canvas.line(
                    Self.heading(dashboard.rows.titles[title], shown: shown, width: body.width),
                    in: Rect(row: line, column: 0, height: 1, width: body.width), row: 0, style: theme[.label])
            case .context(let index):
                drawConnection(
                    dashboard.snapshot.connections[index], position: top + offset, row: line,
                    columns: columns, on: &canvas, context: context, isContext: true)
            case .connection(let index):
                drawConnection(
                    dashboard.snapshot.connections[index], position: top + offset, row: line,
                    columns: columns, on: &canvas, context: context)
            }
        }
        if dashboard.rows.connectionPositions.isEmpty {
            let hint =
                dashboard.filter.isEmpty
                ? "No \(dashboard.scope?.title ?? "") connections. 0 shows every scope."
                : "No connection matches “\(dashboard.filter)”. Esc clears the filter."
            let row = body.row + min(rows.count, body.height - 1)
            canvas.put("  " + hint, row: row, column: body.column, width: body.width, style: theme[.row])
        }
    }

    /// A sub-heading and its count cut to `width` cells: the name before its last ` · ` gives way first, so that
    /// the members (or the key's client) and the count stay in view.
    static func heading(_ title: String, shown: Int, width: Int) -> String {
        let count = " (\(shown))"
        guard title.displayWidth + count.displayWidth > width else { return title + count }
        let room = max(0, width - count.displayWidth)
        if let dot = title.range(of: " · ", options: .backwards) {
            let detail = String(title[dot.lowerBound...])
            let nameRoom = room - detail.displayWidth
            // Too narrow for a useful part of the name: cut the whole title instead.
            if nameRoom >= 12 { return String(title[..<dot.lowerBound]).truncated(toWidth: nameRoom) + detail + count }
        }
        return title.truncated(toWidth: room) + count
    }

    /// Draws one connection; a context row is a parent shown above its children in another group, never under
    /// the cursor, with its own scope after its id.
    private func drawConnection(
        _ connection: Connection, position: Int, row: Int, columns: TableColumns, on canvas: inout Canvas,
        context: RenderContext, isContext: Bool = false
    ) {
        let dashboard = context.dashboard
        let theme = context.theme
        let now = context.now
        let status = dashboard.snapshot.status(of: connection, at: now)
        let isCursor = !isContext && dashboard.cursorPosition == position
        let isMarked = !isContext && dashboard.marked.contains(connection.id)
        let lineStyle = isCursor ? theme[.cursor] : (isMarked ? theme[.marked] : theme[.row])
        // On the cursor row one style wins, so the bar stays whole; symbols and words still carry the state.
        func style(_ role: ThemeRole) -> Style { isCursor ? lineStyle : theme[role] }
        let shown = dashboard.shownStatus(of: connection, at: now)
        let provider = dashboard.snapshot.integrations[connection.integrationID]?.provider ?? "?"
        columns.draw(
            mark: isMarked ? "*" : " ",
            cells: [
                (shown.text, style(shown.role)),
                (Self.name(connection, mark: dashboard.rows.marks[position], isContext: isContext), lineStyle),
                (provider, lineStyle),
                (connection.subject, lineStyle),
                Self.expires(connection, status: status, now: now, style: style),
                (TimeText.ago(connection.lastRefreshAt, now: now), lineStyle),
                ("\(connection.failures)", connection.failures > 0 ? style(.error) : lineStyle),
            ],
            row: row, on: &canvas, lineStyle: lineStyle, width: canvas.size.columns)
    }

    /// The CONNECTION cell: the id after its tree glyph, or a context row's id with its scope.
    static func name(_ connection: Connection, mark: RowList.TreeMark, isContext: Bool) -> String {
        if isContext { return "\(connection.id) (\(connection.scope.rawValue))" }
        switch mark {
        case .none: return connection.id
        case .branch: return "├─ \(connection.id)"
        case .last: return "└─ \(connection.id)"
        }
    }

    /// The EXPIRES cell: a countdown (`~59m` to an assumed expiry); a static secret's age (`41d old`); or `—` for
    /// no expiry and for a revoked credential, which nothing counts down to any more.
    private static func expires(
        _ connection: Connection, status: ConnectionStatus, now: Date, style: (ThemeRole) -> Style
    ) -> (text: String, style: Style) {
        if status == .revoked { return (Countdown.none, style(.row)) }
        if !connection.credential.expires, let setAt = connection.secretSetAt {
            // A static secret never expires; its age is what says it is due for rotation.
            return (SecretAge.short(since: setAt, now: now), style(.row))
        }
        let role = countdownRole(connection, status: status, now: now)
        // `~59m`: the provider gave no expiry, so the countdown runs to an assumed one.
        let text = Countdown.format(until: connection.expiresAt, now: now, assumed: connection.expiryAssumed)
        return (text, style(role))
    }

    /// Critical in the last minute or when a human must act; a warning while the actor is on it.
    static func countdownRole(_ connection: Connection, status: ConnectionStatus, now: Date) -> ThemeRole {
        if let expiresAt = connection.expiresAt, expiresAt.timeIntervalSince(now) <= 60 || status.needsHuman {
            return .countdownCritical
        }
        return [.expiring, .failing, .refreshing].contains(status) ? .countdownWarn : .countdownOK
    }
}
