/// The `?` overlay: every key of the key table, and what it does.
struct HelpWidget: Widget {
    /// The overlay's lines for `keys`: one per binding, except that each pair of opposite moves shares one, as
    /// marking and unmarking all do, so that the whole table fits the smallest terminal the dashboard takes (80×24).
    static func lines(_ keys: KeyMap) -> [String] {
        let labelWidth = 8
        var rows: [(label: String, summary: String)] = []
        for binding in keys.bindings {
            switch binding.action {
            case .up: rows.append(("↑↓ k j", "cursor up, down"))
            case .pageUp: rows.append(("PgUp/Dn", "one page up, down"))
            case .first: rows.append(("g G", "first row, last row (also Home, End)"))
            case .toggleMark:
                let unmark = keys.label(.unmarkAll)
                let summary = "mark/unmark and step down; \(unmark) unmarks every row, hidden too"
                rows.append(("\(binding.label) \(unmark)", summary))
            case .down, .pageDown, .last, .unmarkAll: continue
            case .back: rows.append((binding.label, KeyBinding.escapeSummary(quit: keys.label(.quit))))
            default: rows.append((binding.label, binding.summary))
            }
        }
        rows += KeyBinding.elsewhere(keys)
        return rows.map { $0.label.padded(toWidth: labelWidth) + "  " + $0.summary }
    }

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let lines = Self.lines(context.dashboard.keyMap)
        let width = min(rect.width - 2, (lines.map(\.displayWidth).max() ?? 0) + 4)
        let box = rect.centered(height: min(rect.height, lines.count + 2), width: width)
        let style = context.theme[.help]
        canvas.box(box, title: "tokentop keys", style: style)
        for (offset, line) in lines.prefix(box.height - 2).enumerated() {
            canvas.put(line, row: box.row + 1 + offset, column: box.column + 2, width: box.width - 4, style: style)
        }
    }
}
