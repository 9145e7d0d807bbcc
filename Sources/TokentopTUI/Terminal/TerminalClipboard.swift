import Foundation
import TokentopCore

/// Puts text on the clipboard of the terminal the user looks at, with the OSC 52 escape sequence.
///
/// It works through SSH and without a display server, in terminals that allow it (xterm with
/// `allowWindowOps`, kitty, WezTerm, iTerm2, Windows Terminal, foot, Alacritty; tmux with `set-clipboard on`);
/// other terminals ignore the sequence. Nobody can tell which happened, so callers say "where the terminal allows".
public enum TerminalClipboard {
    /// The longest text sent: terminals cap the sequence, and a sign-in URL is far shorter.
    public static let maximumLength = 8_192

    /// `ESC ] 52 ; c ; BASE64 BEL`, or nil when `text` is too long or has control characters (it could not be
    /// what the user wants pasted).
    public static func sequence(for text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= maximumLength,
            !text.unicodeScalars.contains(where: SafeText.isUnsafe)
        else { return nil }
        return "\u{1B}]52;c;" + Data(text.utf8).base64EncodedString() + "\u{07}"
    }

    /// Whether to send the sequence: the output is a terminal of a known type other than `dumb` or the Linux
    /// console (which would print it), and `TOKENTOP_NO_CLIPBOARD` is unset.
    public static func isUsable(environment: [String: String], outputIsTerminal: Bool) -> Bool {
        guard outputIsTerminal, environment["TOKENTOP_NO_CLIPBOARD"] == nil,
            let term = environment["TERM"], !term.isEmpty
        else { return false }
        return term != "dumb" && term != "linux"
    }
}
