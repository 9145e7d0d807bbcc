import Foundation

/// The catalog of real providers whose facts come from their own documentation, one ``ProviderProfile`` each.
///
/// The catalog ships inside the library (`Catalog/providers.json`, embedded at build time) and is validated
/// strictly when loaded; see `docs/provider-catalog.md` for the format.
public struct ProviderCatalog: Sendable {
    /// Every profile, in catalog order.
    public let providers: [ProviderProfile]
    private let index: [String: Int]

    /// Creates a catalog from profiles whose ids must be unique.
    /// - Throws: ``ProviderCatalogError`` naming the second profile with a repeated id.
    public init(providers: [ProviderProfile], source: String = "catalog") throws(ProviderCatalogError) {
        var index: [String: Int] = [:]
        for (position, profile) in providers.enumerated() {
            if let first = index[profile.id] {
                throw ProviderCatalogError(
                    source: source, entry: "providers[\(position)] (id \"\(profile.id)\")", field: "id",
                    problem: "repeats the id of providers[\(first)]; ids must be unique")
            }
            index[profile.id] = position
        }
        self.providers = providers
        self.index = index
    }

    /// The catalog built into the library.
    /// - Throws: ``ProviderCatalogError`` if the embedded copy is invalid, which the test suite rules out.
    public static func embedded() throws(ProviderCatalogError) -> ProviderCatalog {
        try decode(Data(PackageResources.providers_json), source: "providers.json")
    }

    /// Parses and validates a catalog document.
    /// - Parameters:
    ///   - data: the JSON text of the catalog.
    ///   - source: the name errors use for the document.
    /// - Throws: ``ProviderCatalogError`` naming the entry and field that are wrong.
    public static func decode(_ data: Data, source: String = "providers.json") throws(ProviderCatalogError)
        -> ProviderCatalog
    {
        let document: JSONValue
        do {
            document = try JSONValue.parse(data)
        } catch {
            throw ProviderCatalogError(
                source: source, problem: "not JSON at line \(error.line), column \(error.column): \(error.problem)")
        }
        let profiles = try ProviderProfileReader.profiles(from: document, source: source)
        return try ProviderCatalog(providers: profiles, source: source)
    }

    /// The profile with `id`, or nil.
    public func profile(id: String) -> ProviderProfile? {
        index[id].map { providers[$0] }
    }

    /// The profile with `id`, or nil.
    public subscript(id: String) -> ProviderProfile? { profile(id: id) }

    /// Every id, in catalog order.
    public var ids: [String] { providers.map(\.id) }
}
