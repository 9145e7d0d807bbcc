/// The bottom line: the keys that matter where the user is.
struct HintBarWidget: Widget {
    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        canvas.line(
            " " + Self.fitted(Self.hints(context.dashboard), width: rect.width - 1), in: rect, row: 0,
            style: context.theme[.hints])
    }

    /// The hints joined by two spaces, or one, or with the last ones left out: `?` lists them all anyway.
    static func fitted(_ hints: [String], width: Int) -> String {
        for separator in ["  ", " "] {
            var shown = hints
            while !shown.isEmpty {
                let text = shown.joined(separator: separator)
                if text.displayWidth <= width { return text }
                if separator == "  " { break }
                shown.removeLast()
            }
        }
        return ""
    }

    static func hints(_ dashboard: Dashboard) -> [String] {
        switch dashboard.overlay {
        case .confirmRevoke: return ["y revoke", "any other key cancels"]
        case .confirmRefresh: return ["y refresh", "any other key cancels"]
        case .help, .reauth: return ["any key closes"]
        case .signIn: return SignInDialog.hints(dashboard)
        case nil: break
        }
        if dashboard.isEditingFilter {
            let first = dashboard.filterIsFull
                ? "the filter takes at most \(Dashboard.filterLimit) code points" : "type to filter"
            return [first, "Enter keep", "Esc clear", "↑↓ move"]
        }
        // Most important first, since a narrow terminal drops hints from the end: leaving, help, then the actions.
        let keys = dashboard.keyMap
        func hint(_ action: ListAction, _ text: String) -> String { "\(keys.label(action)) \(text)" }
        // The quit key goes back from the detail view and the explainer.
        let back = "\(keys.label(.quit))/Esc back"
        if case .detail = dashboard.view {
            return [
                back, hint(.help, "help"), hint(.refresh, "refresh"), hint(.revoke, "revoke"), hint(.reauth, "re-auth"),
                "↑↓ scroll",
            ]
        }
        if case .explain = dashboard.view { return [back, hint(.help, "help"), "↑↓ scroll", "g/G top/bottom"] }
        return [
            hint(.quit, "quit"), hint(.help, "help"), hint(.refresh, "refresh"), hint(.revoke, "revoke"),
            hint(.reauth, "re-auth"), "Enter details", hint(.startFilter, "filter"), "↑↓ move", "1-5 scope",
            "0 all", hint(.cycleSort, "sort"),
            keys.label(.toggleMark) == " " ? "space mark" : hint(.toggleMark, "mark"),
        ]
    }
}
