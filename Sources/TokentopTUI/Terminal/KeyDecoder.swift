/// Turns terminal input into keys, reading whole CSI and SS3 escape sequences that terminfo did not describe.
///
/// Under tmux with `TERM=xterm-256color`, Home and End can arrive as `ESC [ 1 ~` and `ESC [ 4 ~`, which that
/// terminfo entry lacks; curses then hands them over one character at a time, and the `4` would switch the scope.
/// An ESC followed within ``escapeDelayMilliseconds`` by `[` or `O` starts a sequence: its parameter and
/// intermediate bytes (0x20–0x3F) are read up to its final byte (0x40–0x7E), the known ones become keys, and the
/// rest are swallowed. An ESC that nothing follows in time is the Esc key.
struct KeyDecoder {
    /// How long the rest of an escape sequence may take to arrive; also curses' own `ESCDELAY`.
    static let escapeDelayMilliseconds = 25
    /// A longer sequence is not one a keyboard sends; reading stops there so a stream of bytes cannot hold a key.
    static let maximumSequenceLength = 32

    /// Input read ahead that turned out not to belong to an escape sequence; it is decoded next.
    private var pending: [TerminalInput] = []

    /// Whether input read ahead waits to be decoded.
    var hasPending: Bool { !pending.isEmpty }

    /// Reads the next key.
    ///
    /// - Parameters:
    ///   - timeoutMilliseconds: how long to wait for the first input.
    ///   - read: waits at most the given milliseconds for one input; nil when none arrived.
    /// - Returns: the key, or nil when nothing arrived in time or a sequence was swallowed.
    mutating func nextKey(timeoutMilliseconds: Int, read: (Int) -> TerminalInput?) -> Key? {
        let first = pending.isEmpty ? read(timeoutMilliseconds) : pending.removeFirst()
        switch first {
        case nil: return nil
        case .key(let key): return key
        case .scalar(let scalar) where scalar.value != 0x1B: return Key(character: scalar)
        case .scalar: break
        }
        let next = pending.isEmpty ? read(Self.escapeDelayMilliseconds) : pending.removeFirst()
        guard let next else { return .escape }
        guard case .scalar(let introducer) = next, introducer == "[" || introducer == "O" else {
            pending.append(next)
            return .escape
        }
        return readSequence(introducer: introducer, read: read)
    }

    private mutating func readSequence(introducer: Unicode.Scalar, read: (Int) -> TerminalInput?) -> Key? {
        var parameters = ""
        while parameters.unicodeScalars.count < Self.maximumSequenceLength {
            // A sequence cut short by the delay is swallowed: its bytes are no keys the user meant.
            guard let input = pending.isEmpty ? read(Self.escapeDelayMilliseconds) : pending.removeFirst() else {
                return nil
            }
            guard case .scalar(let byte) = input, (0x20...0x7E).contains(byte.value) else {
                pending.append(input)
                return nil
            }
            if byte.value >= 0x40 {
                if introducer == "[", parameters == "200", byte == "~" { return readPaste(read: read) }
                return Self.key(introducer: introducer, parameters: parameters, final: byte)
            }
            parameters.unicodeScalars.append(byte)
        }
        return nil
    }

    /// How long a paste may pause between two pieces (a slow link delivers it in bursts) before it counts as ended.
    static let pasteGapMilliseconds = 2_000
    /// A paste is kept up to this many scalars; the rest is read and dropped.
    static let maximumPasteLength = 4_096

    /// Reads a bracketed paste (`ESC [ 200 ~` … `ESC [ 201 ~`, which the terminal sends around pasted text once
    /// asked to) as one ``Key/paste(_:)``: a newline or an ESC in it is text, never Enter or Esc, so a paste can
    /// never confirm a dialog or run a command. Keys curses recognised inside it are dropped.
    private mutating func readPaste(read: (Int) -> TerminalInput?) -> Key {
        let end: [Unicode.Scalar] = ["\u{1B}", "[", "2", "0", "1", "~"]
        var text: [Unicode.Scalar] = []
        var recent: [Unicode.Scalar] = []
        while let input = pending.isEmpty ? read(Self.pasteGapMilliseconds) : pending.removeFirst() {
            guard case .scalar(let scalar) = input else { continue }
            recent.append(scalar)
            if recent.count > end.count { recent.removeFirst() }
            if text.count < Self.maximumPasteLength + end.count { text.append(scalar) }
            if recent == end { break }
        }
        if recent == end, text.suffix(end.count).elementsEqual(end) { text.removeLast(end.count) }
        var pasted = ""
        pasted.unicodeScalars.append(contentsOf: text.prefix(Self.maximumPasteLength))
        return .paste(pasted)
    }

    /// The key a complete sequence stands for, or nil for one the dashboard has no use for.
    static func key(introducer: Unicode.Scalar, parameters: String, final: Unicode.Scalar) -> Key? {
        switch final {
        case "A": return .up
        case "B": return .down
        case "C": return .right
        case "D": return .left
        case "H": return .home
        case "F": return .end
        case "~" where introducer == "[":
            // `ESC [ 5 ; 5 ~` is Ctrl-PgUp: the first parameter names the key, the rest are modifiers.
            switch parameters.split(separator: ";", omittingEmptySubsequences: false).first {
            case "1", "7": return .home
            case "4", "8": return .end
            case "5": return .pageUp
            case "6": return .pageDown
            default: return nil
            }
        default: return nil
        }
    }
}
