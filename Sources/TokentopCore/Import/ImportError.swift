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
