/// One thing the terminal delivered, before escape sequences are decoded: a character, or a key curses already
/// recognised from terminfo.
enum TerminalInput: Hashable, Sendable {
    case scalar(Unicode.Scalar)
    case key(Key)

    /// The characters of `text`, one input each, as a terminal delivers typed or pasted text.
    static func characters(_ text: String) -> [TerminalInput] {
        text.unicodeScalars.map { .scalar($0) }
    }
}
