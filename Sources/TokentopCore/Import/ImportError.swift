/// Why an import file (or a bundle built in code) cannot be imported, pointing at the file, the entry and the field.
///
/// Its description reads like `team.json: connections[3] (id "acme-alice"): expires_at: expected an RFC 3339
/// time, such as "2030-01-31T12:00:00Z"`. It never quotes a secret.
public struct ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file as the user named it, or another name for the bundle's source.
    public var file: String
    /// The entry, such as `connections[3] (id "acme-alice")`; nil for a problem with the whole file.
    public var entry: String?
    /// The field inside the entry, such as `expires_at` or `scopes[2]`; nil for a problem with the whole entry.
    public var field: String?
    /// What is wrong and, where it helps, what would be right.
    public var problem: String

    /// Creates an error for `problem` at `file`, `entry` and `field`.
    public init(file: String, entry: String? = nil, field: String? = nil, problem: String) {
        self.file = file
        self.entry = entry
        self.field = field
        self.problem = problem
    }

    public var description: String {
        [file, entry, field, problem].compactMap { $0 }.joined(separator: ": ")
    }
}

extension ImportError {
    /// The most characters of an id, key or value an error quotes back; the rest is cut and marked with `…`, so a
    /// 100,000-character id does not fill the terminal.
    static let maximumQuotedLength = 80

    /// `text` as an error message shows it: at most ``maximumQuotedLength`` characters and safe to print.
    static func clipped(_ text: String) -> String {
        // The byte count first: it is free, and counting the characters of a huge text is not.
        guard text.utf8.count > maximumQuotedLength, text.count > maximumQuotedLength else {
            return SafeText.clean(text)
        }
        return SafeText.clean(String(text.prefix(maximumQuotedLength - 1))) + "…"
    }

    /// `text` in double quotes, clipped like ``clipped(_:)``: `"acme-alice"`.
    static func quoted(_ text: String) -> String { "\"" + clipped(text) + "\"" }

    /// `text` quoted, for a key or value the file gave where none was expected, unless it looks like a token (20
    /// or more token characters, letters and digits both): a secret pasted into the wrong field is not repeated
    /// on the terminal, as the audit log would not keep it.
    static func echoed(_ text: String) -> String {
        let tokenLike =
            SecretMasking.mask(text) != text && text.contains(where: \.isNumber) && text.contains(where: \.isLetter)
        return tokenLike ? "(not repeated here: it looks like a token)" : quoted(text)
    }
}
