import Foundation

/// What an integration takes from the provider catalog when its `provider` names a catalog entry: endpoints and
/// the client authentication method it does not give itself, with `{placeholders}` filled from `catalog_values`.
struct CatalogDefaults {
    /// The embedded catalog, read once; the test suite checks that it loads.
    static let catalog: ProviderCatalog? = try? ProviderCatalog.embedded()

    let profile: ProviderProfile?
    private let values: [String: String]
    private let reader: ImportFieldReader

    init(_ reader: ImportFieldReader, provider: String) throws {
        self.reader = reader
        profile = Self.catalog?.profile(id: provider)
        var values: [String: String] = [:]
        if let given = reader.value("catalog_values") {
            guard let profile else {
                throw reader.fail(
                    "catalog_values",
                    "\(ImportError.quoted(provider)) is not in the provider catalog, so it has nothing to fill in")
            }
            guard case .object(let object) = given else {
                throw reader.fail("catalog_values", "expected an object such as {\"tenant\": \"contoso\"}")
            }
            let known = profile.placeholders
            for key in object.keys {
                guard known.contains(key) else {
                    let expected = known.isEmpty ? "it has no placeholders" : "it has " + known.joined(separator: ", ")
                    throw reader.fail("catalog_values", "\(provider)'s endpoints have no {\(key)}; \(expected)")
                }
                // Values become part of a URL's path or host: plain characters only.
                guard case .string(let text) = object[key],
                    !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || "-._".contains($0) })
                else {
                    throw reader.fail("catalog_values", "\(key): expected letters, digits, '-', '.' or '_'")
                }
                values[key] = text
            }
        }
        self.values = values
    }

    /// The catalog's URL for `field`, when the provider has one; nil when it has none or is not in the catalog.
    /// - Throws: when the template needs a placeholder `catalog_values` does not give.
    func url(_ template: KeyPath<ProviderProfile, String>, _ field: String) throws -> URL? {
        try url(profile.map { $0[keyPath: template] }, field)
    }

    /// The same, for an endpoint the integration may do without: an unfilled template is an error only when the
    /// file gives `catalog_values` (it asked for the catalog's endpoints), and is left out otherwise.
    func url(_ template: KeyPath<ProviderProfile, String?>, _ field: String) throws -> URL? {
        let text = profile.flatMap { $0[keyPath: template] }
        if values.isEmpty, let text, !ProviderProfile.placeholders(in: text).isEmpty { return nil }
        return try url(text, field)
    }

    private func url(_ template: String?, _ field: String) throws -> URL? {
        guard let template, let profile else { return nil }
        if let url = ProviderProfile.url(template, values: values) { return url }
        let missing = ProviderProfile.placeholders(in: template).filter { values[$0] == nil }
        throw reader.fail(
            field,
            "missing; the catalog's \(profile.id) endpoint \(template) needs "
                + missing.map { "\"\($0)\"" }.joined(separator: ", ")
                + " in catalog_values, or give \(field) itself")
    }
}
