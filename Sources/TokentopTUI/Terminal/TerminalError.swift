/// Why the dashboard could not run on this terminal, or why it stopped early.
public enum TerminalError: Error, Equatable, CustomStringConvertible {
    /// Standard input or output is not a terminal (a pipe, a file, a CI job).
    case notATerminal
    /// `TERM` is unset or empty.
    case terminalTypeUnset
    /// ncurses does not know the terminal type `TERM` names, or could not open the terminal.
    case unknownTerminal(String)
    /// The terminal type (from TERM) cannot move the cursor to a given cell, as `dumb` cannot.
    case cannotAddressCursor(String)
    /// A signal (SIGINT, SIGTERM, SIGHUP) closed the dashboard; the terminal was restored first. `again`: a second
    /// SIGINT or SIGTERM came before the dashboard had closed (two quick Ctrl-C), which asks not to wait.
    case interrupted(signal: Int32, again: Bool = false)

    /// One line that says what is wrong and how to fix it.
    public var description: String {
        switch self {
        case .notATerminal:
            "the dashboard needs a terminal, but standard input or output is not one; "
                + "in scripts use 'tokentop list' or 'tokentop show ID'"
        case .terminalTypeUnset:
            "TERM is not set, so the terminal's type is unknown; set it, for example TERM=xterm-256color"
        case .unknownTerminal(let name):
            "cannot open the terminal as type '\(name)' (from TERM); "
                + "set TERM to a type in the terminfo database, for example TERM=xterm-256color"
        case .cannotAddressCursor(let name):
            "the terminal type '\(name)' (from TERM) cannot move the cursor, which the dashboard needs; "
                + "set TERM to a full-screen type, for example TERM=xterm-256color, or use 'tokentop list'"
        case .interrupted(let signal, _):
            "interrupted by signal \(signal)"
        }
    }

    /// The exit status a shell expects: 128 + the signal for an interruption, 1 otherwise.
    public var exitCode: Int32 {
        if case .interrupted(let signal, _) = self { return 128 + signal }
        return 1
    }
}
