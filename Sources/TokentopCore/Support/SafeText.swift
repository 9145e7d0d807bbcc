/// Text from outside (a provider's answer, an imported name) made safe to print on a terminal.
public enum SafeText {
    /// Replaces control characters (escape sequences among them) and invisible direction and zero-width marks
    /// with U+FFFD, so that no text can drive the terminal or disguise itself on it.
    public static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isUnsafe($0) ? "\u{FFFD}" : $0 }))
    }

    /// Control characters, the line and paragraph separators (which break a line like a newline does), and the
    /// invisible marks that reorder or hide text (bidi overrides and isolates, the zero-width space, the byte order
    /// mark). Zero-width joiners stay: emoji sequences need them.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        // The control characters (general category Cc, which Unicode keeps to these 65 for good), compared as
        // numbers: looking the category up cost more than all else `list` does at 100,000 connections.
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    /// Whether `text` shows nothing on a terminal: it is empty or made only of white space and format characters
    /// (zero-width joiners, the soft hyphen, the word joiner, …), so a name made of it looks blank.
    public static func isInvisible(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { scalar in
            scalar.properties.isWhitespace || scalar.properties.generalCategory == .format
                || isUnsafe(scalar)
        }
    }
}

extension SafeText {
    /// Like ``clean(_:)``, but keeps line breaks: for whole reports of several lines.
    public static func lines(_ text: String) -> String {
        // A report that is safe as it is (as `list` nearly always is, at 100,000 lines) is not cut up and joined.
        guard text.unicodeScalars.contains(where: { $0 != "\n" && isUnsafe($0) }) else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { clean(String($0)) }
            .joined(separator: "\n")
    }
}

extension SafeText {
    /// A name a user gave (a connection id on the command line) as a one-line message shows it: as it is when it is
    /// not empty and holds nothing unsafe, else in double quotes with quotes, backslashes, line breaks, control and
    /// invisible characters escaped (`"bad\nid"`, `"\u001b[2J"`, `""`), so that the message stays on one line and
    /// says exactly what was given. A name longer than ``maximumNameLength`` characters is cut there and marked with
    /// `…` (after the closing quote of a quoted one), so that a 100,000-character id does not fill the terminal.
    public static func name(_ text: String) -> String {
        // The byte count first: it is free, and counting the characters of a huge text is not.
        let long = text.utf8.count > maximumNameLength && text.count > maximumNameLength
        let shown = long ? String(text.prefix(maximumNameLength - 1)) : text
        let cut = long ? "…" : ""
        guard shown.isEmpty || shown.unicodeScalars.contains(where: isUnsafe) else { return shown + cut }
        var quoted = "\""
        for scalar in shown.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            case "\t": quoted += "\\t"
            case _ where isUnsafe(scalar):
                // Every unsafe scalar is in the Basic Multilingual Plane: four hex digits, as JSON spells them.
                let hex = String(scalar.value, radix: 16)
                quoted += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default: quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted + "\"" + cut
    }

    /// The most characters of a name ``name(_:)`` shows, its `…` included (as an import error quotes at most).
    public static let maximumNameLength = 80
}

extension String {
    /// Whether every character is printable ASCII (U+0020…U+007E): safe, one cell wide on every terminal, and
    /// nothing to look up further. The fast path of the secret rule and of drawing.
    public var isPrintableASCII: Bool { utf8.allSatisfy { (0x20..<0x7F).contains($0) } }
}
