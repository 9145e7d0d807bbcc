/// The line above the key hints: the filter prompt or the last action's message, and where the cursor is.
struct MessageWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let dashboard = context.dashboard
        let theme = context.theme
        canvas.fill(rect, style: theme[.row])
        let right = canvas.putRight(Self.position(dashboard) + " ", in: rect, row: 0, style: theme[.row])
        let room = max(0, right - rect.column - 1)
        if dashboard.isEditingFilter {
            // A filter longer than the line shows its end, where typing goes, after `…`.
            let used = canvas.put(
                "/" + dashboard.filter.truncatedFromLeft(toWidth: room - 2), row: rect.row, column: rect.column,
                width: room - 1, style: theme[.row])
            // The terminal cursor is hidden, so a reverse-video block shows where typing goes.
            var block = theme[.row]
            block.attributes.insert(.reverse)
            canvas.put(" ", row: rect.row, column: rect.column + used, style: block)
        } else if let message = dashboard.message, message.isShown(at: context.now) {
            // Cut with `…` where the position on the right leaves no room, so a cut message reads as cut.
            canvas.put(
                (" " + message.text).truncated(toWidth: room), row: rect.row, column: rect.column,
                style: message.isError ? theme[.error] : theme[.row])
        }
    }

    /// The most cells a kept filter takes in ``position(_:)``.
    static let shownFilterWidth = 24

    /// `[User]  sort: expiry  filter: “ali”  3 marked  12/340`; the sort always in the list, the rest when they
    /// say something.
    static func position(_ dashboard: Dashboard) -> String {
        var parts: [String] = []
        if let scope = dashboard.scope { parts.append("[\(scope.title)]") }
        let listing = dashboard.view == .list && !dashboard.snapshot.connections.isEmpty
        // Always stated under the table: rows are sorted inside each scope group, which the rows alone do not tell.
        if listing { parts.append("sort: \(dashboard.sort.rawValue)") }
        // A long filter is cut, so that the marks and the position after it stay in sight.
        if !dashboard.filter.isEmpty, !dashboard.isEditingFilter {
            parts.append("filter: “\(dashboard.filter.truncated(toWidth: Self.shownFilterWidth))”")
        }
        if !dashboard.marked.isEmpty { parts.append("\(dashboard.marked.count) marked") }
        if listing {
            let count = dashboard.rows.connectionPositions.count
            parts.append("\(dashboard.cursor.map { $0 + 1 } ?? 0)/\(count)")
        }
        return parts.joined(separator: "  ")
    }
}
