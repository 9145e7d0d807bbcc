import TokentopCore

/// One key press, decoded from the terminal.
enum Key: Hashable, Sendable {
    case character(Character)
    case up
    case down
    case left
    case right
    case pageUp
    case pageDown
    case home
    case end
    case enter
    case escape
    case backspace
    case tab
    /// The terminal changed size; the next frame repaints everything.
    case resize
    /// Ctrl-L: repaint the whole screen.
    case redraw
    /// SIGINT, SIGTERM or SIGHUP arrived: the dashboard closes and the terminal is restored.
    case signal(Int32)
    /// Text the terminal marked as pasted (bracketed paste): only the filter takes it, as text.
    case paste(String)

    /// The character this key types into a text field such as the filter, or nil for a key that types nothing: a
    /// control character (Ctrl-A arrives as U+0001, C1 controls as U+0080…U+009F) or an invisible mark that would
    /// hide or reorder the text, which the screen would draw as U+FFFD and no connection would match.
    var typedCharacter: Character? {
        guard case .character(let character) = self, !character.unicodeScalars.contains(where: SafeText.isUnsafe)
        else { return nil }
        return character
    }

    /// Decodes one character that arrived as text rather than as a key code.
    init(character scalar: Unicode.Scalar) {
        switch scalar.value {
        case 10, 13: self = .enter
        case 27: self = .escape
        case 8, 127: self = .backspace
        case 9: self = .tab
        case 12: self = .redraw
        default: self = .character(Character(scalar))
        }
    }
}
