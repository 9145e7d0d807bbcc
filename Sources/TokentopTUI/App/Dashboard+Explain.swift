extension Dashboard {
    // MARK: - The explainer

    /// Scrolls the explainer or closes it (Esc, ←, or the quit key, `q` unless the configuration moved it); every
    /// other key does nothing there, except help's.
    func handleExplainKey(_ key: Key) {
        let page = max(1, layout.body.height - 3)
        let lastTop = max(0, explainLineCount - max(0, layout.body.height - 2))
        switch key {
        case .escape, .left: closeExplain()
        case .up, .character("k"): setExplainScroll(min(explainScroll, lastTop) - 1)
        case .down, .character("j"): setExplainScroll(min(explainScroll + 1, lastTop))
        case .pageUp: setExplainScroll(min(explainScroll, lastTop) - page)
        case .pageDown: setExplainScroll(min(explainScroll + page, lastTop))
        case .home, .character("g"): setExplainScroll(0)
        case .end, .character("G"): setExplainScroll(lastTop)
        default:
            switch keyMap.action(for: key) {
            case .quit?: closeExplain()
            case .help?: setOverlay(.help)
            default: break
            }
        }
    }

    /// How many scrolling lines the explainer has at the current width.
    var explainLineCount: Int {
        guard case .explain(let id) = view else { return 0 }
        return ExplainContent(dashboard: self, id: id).body(width: size.columns).count
    }
}
