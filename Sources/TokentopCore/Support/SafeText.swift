/// Text from outside (a provider's answer, an imported name) made safe to print on a terminal.
public enum SafeText {
    /// Replaces control characters (escape sequences among them) with U+FFFD, so that no text can drive the
    /// terminal it is printed on.
    public static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? "\u{FFFD}" : $0 }))
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control
    }
}

extension SafeText {
    /// Like ``clean(_:)``, but keeps line breaks: for whole reports of several lines.
    public static func lines(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { clean(String($0)) }
            .joined(separator: "\n")
    }
}
