/// Why a provider catalog cannot be loaded, naming the source, the entry and the field.
///
/// Its description reads like `providers.json: providers[3] (id "gitlab"): token_url: expected an https URL`.
public struct ProviderCatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The catalog's name, such as `providers.json`.
    public var source: String
    /// The entry, such as `providers[3] (id "gitlab")`; nil for a problem with the whole catalog.
    public var entry: String?
    /// The field inside the entry, such as `sources[0]`; nil for a problem with the whole entry.
    public var field: String?
    /// What is wrong and, where it helps, what would be right.
    public var problem: String

    /// Creates an error for `problem` at `source`, `entry` and `field`.
    public init(source: String, entry: String? = nil, field: String? = nil, problem: String) {
        self.source = source
        self.entry = entry
        self.field = field
        self.problem = problem
    }

    public var description: String {
        [source, entry, field, problem].compactMap { $0 }.joined(separator: ": ")
    }
}
