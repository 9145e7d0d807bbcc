import CNcurses
import Foundation

/// The real terminal, through ncurses. Every ncurses call of the program is in this file.
///
/// Not thread-safe, like ncurses itself: one loop on one thread owns it from ``init(useColor:)`` to ``close()``.
final class CursesScreen: Screen {
    private let terminal: OpaquePointer
    private let window: UnsafeMutablePointer<WINDOW>
    private let colorEnabled: Bool
    private var pairs: [ColorPairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private let signalTrap: SignalTrap

    /// Whether SIGINT or SIGTERM came twice while the dashboard ran (two quick Ctrl-C).
    var interruptedAgain: Bool { signalTrap.receivedAgain }
    private let stderrHold: StderrHold
    private var isClosed = false
    private var decoder = KeyDecoder()
    /// Whether the terminal may be sent OSC 52 (see ``TerminalClipboard/isUsable(environment:outputIsTerminal:)``).
    private let clipboardUsable: Bool

    private struct ColorPairKey: Hashable {
        var foreground: ThemeColor
        var background: ThemeColor
    }

    /// Whether this process's terminal can show the dashboard, asked without touching it: standard input and output
    /// are a terminal, and `TERM` names a type terminfo knows that can place the cursor.
    /// - Throws: the ``TerminalError`` that says why not.
    static func check(environment: [String: String]) throws {
        guard isatty(STDIN_FILENO) == 1, isatty(STDOUT_FILENO) == 1 else { throw TerminalError.notATerminal }
        guard let term = environment["TERM"], !term.isEmpty else { throw TerminalError.terminalTypeUnset }
        // TERM=dumb and its kind are known but cannot place the cursor: the screen would be a header line.
        switch tt_probe_terminal(STDOUT_FILENO) {
        case 1: return
        case 0: throw TerminalError.cannotAddressCursor(term)
        default: throw TerminalError.unknownTerminal(term)
        }
    }

    /// Takes over the terminal on standard input and output.
    ///
    /// - Parameter useColor: start colour when the terminal has it; false for NO_COLOR or a colourless theme.
    /// - Throws: ``TerminalError`` when there is no terminal or ncurses cannot drive it.
    init(useColor: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try Self.check(environment: environment)
        let term = environment["TERM"] ?? ""
        setlocale(LC_ALL, "")
        // newterm, unlike initscr, returns nil instead of exiting when the terminal type is unknown.
        guard let terminal = newterm(nil, tt_stdout(), tt_stdin()) else { throw TerminalError.unknownTerminal(term) }
        guard let window = tt_stdscr() else {
            endwin()
            delscreen(terminal)
            throw TerminalError.unknownTerminal(term)
        }
        self.terminal = terminal
        self.window = window
        cbreak()
        noecho()
        keypad(window, true)
        set_escdelay(Int32(KeyDecoder.escapeDelayMilliseconds))
        curs_set(0)
        if useColor, has_colors() {
            start_color()
            use_default_colors()
            colorEnabled = true
        } else {
            colorEnabled = false
        }
        signalTrap = SignalTrap()
        stderrHold = StderrHold()
        clipboardUsable = TerminalClipboard.isUsable(environment: environment, outputIsTerminal: true)
        // Bracketed paste: the terminal marks pasted text, so that a newline or an ESC in a paste is text for the
        // filter, never Enter, Esc or a command. A terminal without it ignores the request.
        _ = Self.writeToTerminal(Self.bracketedPasteOn)
    }

    static let bracketedPasteOn = "\u{1B}[?2004h"
    static let bracketedPasteOff = "\u{1B}[?2004l"

    deinit { close() }

    var size: TerminalSize {
        var rows: Int32 = 0
        var columns: Int32 = 0
        tt_getmaxyx(window, &rows, &columns)
        return TerminalSize(rows: Int(rows), columns: Int(columns))
    }

    var sizeNow: TerminalSize {
        var window = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &window) == 0, window.ws_row > 0, window.ws_col > 0 else {
            return size
        }
        return TerminalSize(rows: Int(window.ws_row), columns: Int(window.ws_col))
    }

    func put(_ text: String, style: Style, row: Int, column: Int) {
        tt_set_style(window, attributes(style.attributes), pair(for: style))
        wmove(window, Int32(row), Int32(column))
        // Writing the bottom-right cell reports an error because the cursor cannot advance; the cell is written.
        _ = waddnstr(window, TerminalText.encode(text) { Int(tt_wcwidth($0.value)) }, -1)
    }

    func clear() {
        wclear(window)
    }

    func flush() {
        wrefresh(window)
    }

    func readKey(timeoutMilliseconds: Int) -> Key? {
        let key = decoder.nextKey(timeoutMilliseconds: timeoutMilliseconds) { readInput(timeoutMilliseconds: $0) }
        if let signal = signalTrap.received { return .signal(signal) }
        // The terminal went away without a SIGHUP (one ignored, as under `nohup` or `trap '' HUP`): every read
        // fails at once, and the loop read on at a full core. It ends as the hangup would have ended it.
        if hungUp { return .signal(SIGHUP) }
        return key
    }

    /// Whether the terminal has hung up: its input reports an end rather than a timeout.
    private var hungUp = false

    /// One character or one key curses recognised, within the timeout; nil for none, or for a signal.
    private func readInput(timeoutMilliseconds: Int) -> TerminalInput? {
        var value: UInt32 = 0
        let result = tt_read_key(window, Int32(clamping: timeoutMilliseconds), &value)
        if signalTrap.received != nil { return nil }
        if result == tt_key_code_yes() { return Self.key(code: Int32(bitPattern: value)).map(TerminalInput.key) }
        guard result == tt_ok(), let scalar = Unicode.Scalar(value) else {
            // A timeout, or the end of input (curses gives the gone terminal's end as a value past Unicode).
            if Self.inputHungUp() { hungUp = true }
            return nil
        }
        return .scalar(scalar)
    }

    /// Whether standard input, the terminal, reports a hangup or an error instead of waiting for input.
    private static func inputHungUp() -> Bool {
        var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) >= 0 else { return false }
        return descriptor.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0
    }

    func copyToClipboard(_ text: String) -> Bool {
        guard clipboardUsable, let sequence = TerminalClipboard.sequence(for: text) else { return false }
        // Straight to the terminal between two frames, when curses has flushed everything: the sequence moves no
        // cursor and draws nothing, so curses' picture of the screen stays true.
        return Self.writeToTerminal(sequence)
    }

    /// Writes a sequence that draws nothing straight to the terminal; false when it could not be written whole.
    private static func writeToTerminal(_ sequence: String) -> Bool {
        let bytes = Array(sequence.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
            guard count > 0 else { return false }
            written += count
        }
        return true
    }

    /// Restores the terminal, the signal handlers and standard error; runs once, however often it is called.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Self.writeToTerminal(Self.bracketedPasteOff)
        curs_set(1)
        endwin()
        delscreen(terminal)
        signalTrap.restore()
        stderrHold.release()
    }

    // MARK: - Translations

    private static func key(code: Int32) -> Key? {
        switch code {
        case tt_key_up(): .up
        case tt_key_down(): .down
        case tt_key_left(): .left
        case tt_key_right(): .right
        case tt_key_ppage(): .pageUp
        case tt_key_npage(): .pageDown
        case tt_key_home(): .home
        case tt_key_end(): .end
        case tt_key_enter(): .enter
        case tt_key_backspace(), tt_key_dc(): .backspace
        case tt_key_resize(): .resize
        default: nil
        }
    }

    private func attributes(_ attributes: TextAttributes) -> attr_t {
        var result = tt_a_normal()
        if attributes.contains(.bold) { result |= tt_a_bold() }
        if attributes.contains(.dim) { result |= tt_a_dim() }
        if attributes.contains(.reverse) { result |= tt_a_reverse() }
        if attributes.contains(.underline) { result |= tt_a_underline() }
        return result
    }

    /// The colour pair for `style`'s colours, made on first use; 0 (the terminal's colours) without colour.
    private func pair(for style: Style) -> Int32 {
        guard colorEnabled, style.hasColor else { return 0 }
        let key = ColorPairKey(foreground: style.foreground, background: style.background)
        if let pair = pairs[key] { return pair }
        guard nextPair < tt_color_pairs(), nextPair <= Int32(Int16.max) else { return 0 }
        let pair = nextPair
        init_pair(Int16(pair), colorNumber(style.foreground), colorNumber(style.background))
        pairs[key] = pair
        nextPair += 1
        return pair
    }

    /// The terminal's number for `color`; bright colours fall back to their base colour on 8-colour terminals.
    private func colorNumber(_ color: ThemeColor) -> Int16 {
        guard case .indexed(let index) = color else { return -1 }
        let available = Int(tt_colors())
        if index < available { return Int16(index) }
        if index < 16, index - 8 < available { return Int16(index - 8) }
        return -1
    }
}
