import TokentopCore

/// What a key does in the connection list.
enum ListAction: Equatable {
    case up, down, pageUp, pageDown, first, last
    case openDetail, startFilter, scope, allScopes, cycleSort, toggleMark
    case refresh, revoke, reauth, explain, help, back, quit
}

/// One row of the key table: the keys, how help names them, and what they do.
struct KeyBinding {
    let keys: [Key]
    let label: String
    let action: ListAction
    let summary: String

    /// What Esc does in the list; the README's key table says the same.
    static let escapeSummary = "clear the filter; without a filter, nothing (q quits)"

    /// The connection list's key table; `?` shows it, so every key the list reacts to is here.
    static let list: [KeyBinding] = [
        KeyBinding(keys: [.up, .character("k")], label: "↑ k", action: .up, summary: "cursor up"),
        KeyBinding(keys: [.down, .character("j")], label: "↓ j", action: .down, summary: "cursor down"),
        KeyBinding(keys: [.pageUp], label: "PgUp", action: .pageUp, summary: "one page up"),
        KeyBinding(keys: [.pageDown], label: "PgDn", action: .pageDown, summary: "one page down"),
        KeyBinding(keys: [.home, .character("g")], label: "g Home", action: .first, summary: "first row"),
        KeyBinding(keys: [.end, .character("G")], label: "G End", action: .last, summary: "last row"),
        KeyBinding(keys: [.enter], label: "Enter", action: .openDetail, summary: "details of the connection"),
        KeyBinding(
            keys: [.character("/")], label: "/", action: .startFilter,
            summary: "filter id, subject, workspace, parent…; Enter keeps, Esc clears"),
        KeyBinding(
            keys: IdentityScope.allCases.map { .character(Character("\($0.ordinal + 1)")) }, label: "1–5",
            action: .scope,
            summary: IdentityScope.allCases.map { "\($0.ordinal + 1) \($0.title)" }.joined(separator: " · ")),
        KeyBinding(keys: [.character("0")], label: "0", action: .allScopes, summary: "every scope"),
        KeyBinding(
            keys: [.character("s")], label: "s", action: .cycleSort,
            summary: "sort within each scope: " + SortOrder.allCases.map(\.rawValue).joined(separator: " → ")),
        KeyBinding(keys: [.character(" ")], label: "space", action: .toggleMark, summary: "mark or unmark the row"),
        KeyBinding(
            keys: [.character("r")], label: "r", action: .refresh,
            summary: "refresh the marked rows, or the cursor row"),
        KeyBinding(
            keys: [.character("x")], label: "x", action: .revoke,
            summary: "revoke the marked rows, or the cursor row (asks first)"),
        KeyBinding(
            keys: [.character("a")], label: "a", action: .reauth,
            summary: "re-auth: the user signs in, or who must act"),
        KeyBinding(
            keys: [.character("i")], label: "i", action: .explain,
            summary: "explain the identity model, beside the other four"),
        KeyBinding(keys: [.character("?")], label: "?", action: .help, summary: "this help"),
        KeyBinding(keys: [.escape], label: "Esc", action: .back, summary: Self.escapeSummary),
        KeyBinding(keys: [.character("q")], label: "q", action: .quit, summary: "quit"),
    ]

    /// Keys that work everywhere, and in the detail view; listed in help after the table.
    static let elsewhere: [(label: String, summary: String)] = [
        ("Ctrl-L", "repaint the screen"),
        ("details", "↑↓ j k PgUp PgDn g G scroll · Esc q back (explain: the same)"),
        ("", "r refresh · x revoke · a re-auth · i explain, on the one shown"),
    ]

    private static let actionByKey: [Key: ListAction] = {
        var map: [Key: ListAction] = [:]
        for binding in list {
            for key in binding.keys { map[key] = binding.action }
        }
        return map
    }()

    /// The list action of `key`, if it has one.
    static func listAction(for key: Key) -> ListAction? { actionByKey[key] }
}
