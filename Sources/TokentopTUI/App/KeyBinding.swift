import TokentopCore

/// What a key does in the connection list.
enum ListAction: Equatable {
    case up, down, pageUp, pageDown, first, last
    case openDetail, startFilter, scope, allScopes, cycleSort, toggleMark, unmarkAll
    case refresh, revoke, reauth, explain, copy, help, back, quit
}

/// One row of the key table: the keys, how help names them, and what they do.
struct KeyBinding {
    let keys: [Key]
    let label: String
    let action: ListAction
    let summary: String

    /// What Esc does in the list, naming the key that quits; the README's key table says the same.
    static func escapeSummary(quit: String = "q") -> String {
        "clear the filter; without a filter, nothing (\(quit) quits)"
    }

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
        KeyBinding(
            keys: [.character(" ")], label: "space", action: .toggleMark,
            summary: "mark or unmark the row, and step down"),
        KeyBinding(
            keys: [.character("u")], label: "u", action: .unmarkAll,
            summary: "unmark every row (marks stay through filters and scopes)"),
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
        KeyBinding(
            keys: [.character("c")], label: "c", action: .copy,
            summary: "copy the connection's id to the clipboard"),
        KeyBinding(keys: [.character("?")], label: "?", action: .help, summary: "this help"),
        KeyBinding(keys: [.escape], label: "Esc", action: .back, summary: Self.escapeSummary()),
        KeyBinding(keys: [.character("q")], label: "q", action: .quit, summary: "quit"),
    ]

    /// Keys that work everywhere, and in the detail view, with `keys`' characters; listed in help after the table.
    static func elsewhere(_ keys: KeyMap) -> [(label: String, summary: String)] {
        [
            ("Ctrl-L", "repaint the screen"),
            ("details", "↑↓ j k PgUp PgDn g G scroll · Esc \(keys.label(.quit)) back (explain: the same)"),
            (
                "",
                "\(keys.label(.refresh)) refresh · \(keys.label(.revoke)) revoke · \(keys.label(.reauth)) re-auth · "
                    + "\(keys.label(.explain)) explain, on the one shown"
            ),
        ]
    }

}

/// The list's key table with the configuration's `keys` overrides applied (`{"refresh": "R"}`).
struct KeyMap {
    /// The actions a configuration may rebind, by the name the configuration file uses.
    static let bindable: [String: ListAction] = [
        "refresh": .refresh, "revoke": .revoke, "reauth": .reauth, "help": .help, "quit": .quit,
        "filter": .startFilter, "sort": .cycleSort, "mark": .toggleMark, "unmark": .unmarkAll, "details": .openDetail,
        "explain": .explain, "copy": .copy,
    ]

    /// The built-in table; it has no conflicts, which KeyMapTests checks, so building it cannot fail.
    static let standard: KeyMap = try! KeyMap()

    let bindings: [KeyBinding]
    private let actionByKey: [Key: ListAction]

    /// The table with each overridden action's character key replaced (Enter keeps opening details).
    /// - Throws: ``KeyMapError`` when a new key is already another action's.
    init(overrides: [String: String] = [:]) throws(KeyMapError) {
        var bindings = KeyBinding.list
        for (name, text) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let action = Self.bindable[name], let character = text.first, text.count == 1,
                let index = bindings.firstIndex(where: { $0.action == action })
            else { throw KeyMapError(description: "keys.\(name): not an action a key can be given to") }
            let old = bindings[index]
            let others = old.keys.filter { if case .character = $0 { false } else { true } }
            let label = others.isEmpty ? String(character) : "\(old.label) \(character)"
            bindings[index] = KeyBinding(
                keys: [.character(character)] + others, label: label, action: action, summary: old.summary)
        }
        var map: [Key: ListAction] = [:]
        let moved = Set(overrides.keys.compactMap { Self.bindable[$0] })
        for binding in bindings {
            for key in binding.keys {
                if let taken = map[key], taken != binding.action {
                    // Name the setting that moved a key onto another action's.
                    let (mine, theirs) =
                        moved.contains(binding.action) ? (binding.action, taken) : (taken, binding.action)
                    let other =
                        Self.name(of: theirs) ?? bindings.first { $0.action == theirs }?.summary ?? "another key"
                    throw KeyMapError(
                        description: "keys.\(Self.name(of: mine) ?? "?"): '\(Self.label(of: key))' is already the "
                            + "key of \(other); choose another character")
                }
                map[key] = binding.action
            }
        }
        self.bindings = bindings
        actionByKey = map
    }

    /// The list action of `key`, if it has one.
    func action(for key: Key) -> ListAction? { actionByKey[key] }

    /// The character that triggers `action` now, as hints show it (`r`, or its replacement).
    func label(_ action: ListAction) -> String {
        guard let binding = bindings.first(where: { $0.action == action }) else { return "" }
        for key in binding.keys { if case .character(let character) = key { return String(character) } }
        return binding.label
    }

    private static func label(of key: Key) -> String {
        if case .character(let character) = key { return String(character) }
        return "\(key)"
    }

    private static func name(of action: ListAction) -> String? {
        bindable.first { $0.value == action }?.key
    }
}

/// Key overrides that cannot work together, with a message naming the setting.
public struct KeyMapError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
