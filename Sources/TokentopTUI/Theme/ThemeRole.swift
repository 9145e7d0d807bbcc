import TokentopCore

/// A semantic role that a theme gives a style; the widgets name roles, never colours.
struct ThemeRole: Hashable, Sendable, CustomStringConvertible {
    let name: String

    static let header = ThemeRole(name: "header")
    static let tableHeader = ThemeRole(name: "table.header")
    static let groupHeader = ThemeRole(name: "group.header")
    static let row = ThemeRole(name: "row")
    static let cursor = ThemeRole(name: "cursor")
    static let marked = ThemeRole(name: "marked")
    static let countdownOK = ThemeRole(name: "countdown.ok")
    static let countdownWarn = ThemeRole(name: "countdown.warn")
    static let countdownCritical = ThemeRole(name: "countdown.critical")
    static let dialog = ThemeRole(name: "dialog")
    static let help = ThemeRole(name: "help")
    static let event = ThemeRole(name: "event")
    static let error = ThemeRole(name: "error")
    static let hints = ThemeRole(name: "hints")
    static let label = ThemeRole(name: "label")

    /// The role of a status word and symbol: `status.healthy`, `status.needs-reauth`, …
    static func status(_ status: ConnectionStatus) -> ThemeRole { ThemeRole(name: "status.\(status.rawValue)") }

    /// Every role a theme file may set.
    static let all: [ThemeRole] =
        [.header, .tableHeader, .groupHeader, .row, .cursor, .marked]
        + ConnectionStatus.allCases.map(status)
        + [.countdownOK, .countdownWarn, .countdownCritical, .dialog, .help, .event, .error, .hints, .label]

    var description: String { name }
}
