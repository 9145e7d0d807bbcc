import Foundation

extension Secret {
    /// Why a text cannot be a token, key or client secret; every secret that comes from outside (an import file, a
    /// token endpoint's answer) is held to this one rule, and no message built from it quotes the text.
    enum TextProblem: Equatable, Sendable {
        /// No characters at all.
        case empty
        /// Only spaces and line breaks.
        case blank
        /// Spaces or line breaks at the start or end, which a copy and paste or a sloppy server adds.
        case whitespaceAtEdges
        /// A control or invisible character (see ``SafeText/isUnsafe(_:)``), which would drive a terminal or cut the
        /// value short in a C API.
        case unsafeCharacter(Unicode.Scalar)

        /// The character as a message names it: `U+0007`.
        static func codePoint(_ scalar: Unicode.Scalar) -> String { "U+" + String(format: "%04X", scalar.value) }
    }

    /// What is wrong with `text` as a secret, or nil when it may be one.
    /// - Parameter lines: whether line breaks may stand inside it: an imported private key or app key is a PEM of
    ///   several lines; a token from a token endpoint is one line.
    static func problem(with text: String, lines: Bool = false) -> TextProblem? {
        // Read on every refresh, twice. Most tokens are printable ASCII without spaces at their edges: one pass
        // over the bytes settles them, without a character set or a Unicode property lookup per character.
        let bytes = text.utf8
        if let head = bytes.first, let tail = bytes.last, head != 0x20, tail != 0x20, text.isPrintableASCII {
            return nil
        }
        // Otherwise the edges are looked at, not trimmed into a copy.
        let scalars = text.unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return .empty }
        let space = CharacterSet.whitespacesAndNewlines
        if space.contains(first) || space.contains(last) {
            return scalars.allSatisfy(space.contains) ? .blank : .whitespaceAtEdges
        }
        let unsafe = text.unicodeScalars.first { scalar in
            SafeText.isUnsafe(scalar) && !(lines && (scalar == "\n" || scalar == "\r"))
        }
        if let unsafe { return .unsafeCharacter(unsafe) }
        return nil
    }
}
