import Foundation

/// Reads catalog entries strictly: every key present (null where a fact is undocumented), no unknown keys, values
/// of the right type and range, and a note wherever a fact is null.
struct ProviderProfileReader {
    static let formatVersion = 1
    static let keys = [
        "id", "name", "token_url", "revocation_url", "device_authorization_url", "authorization_url", "client_auth",
        "refresh_token_rotates", "refresh_token_idle_lifetime_seconds", "refresh_token_absolute_lifetime_seconds",
        "rotation_grace_seconds", "default_access_token_lifetime_seconds", "quirks", "grants", "identity_models",
        "sources", "notes",
    ]
    static let quirkKeys = ["errors_with_http_200", "form_encoded_unless_accept_json", "non_rfc_error_shape"]
    /// Facts that may be null, which then need a note.
    static let nullableFacts = [
        "revocation_url", "device_authorization_url", "authorization_url", "client_auth", "refresh_token_rotates",
        "refresh_token_idle_lifetime_seconds", "refresh_token_absolute_lifetime_seconds", "rotation_grace_seconds",
        "default_access_token_lifetime_seconds",
    ]

    let object: JSONObject
    let source: String
    let entry: String

    func fail(_ field: String?, _ problem: String) -> ProviderCatalogError {
        ProviderCatalogError(source: source, entry: entry, field: field, problem: problem)
    }

    /// Every profile of a catalog document `{"format": 1, "providers": [...]}`.
    static func profiles(from document: JSONValue, source: String) throws(ProviderCatalogError) -> [ProviderProfile] {
        func fail(_ field: String?, _ problem: String) -> ProviderCatalogError {
            ProviderCatalogError(source: source, field: field, problem: problem)
        }
        guard case .object(let root) = document else {
            throw fail(nil, "expected an object with \"format\" and \"providers\", found \(document.kindName)")
        }
        if let unknown = root.keys.first(where: { !["format", "providers"].contains($0) }) {
            throw fail(unknown, "unknown key; valid keys are format, providers")
        }
        guard case .number(let format) = root["format"] else { throw fail("format", "missing; give 1") }
        guard format == Double(formatVersion) else {
            throw fail("format", "unsupported format \(format); this version reads format \(formatVersion)")
        }
        guard case .array(let entries) = root["providers"] else {
            throw fail("providers", "expected an array of provider objects")
        }
        var profiles: [ProviderProfile] = []
        for (position, value) in entries.enumerated() {
            guard case .object(let object) = value else {
                throw ProviderCatalogError(
                    source: source, entry: "providers[\(position)]",
                    problem: "expected an object, found \(value.kindName)")
            }
            var label = "providers[\(position)]"
            if case .string(let id) = object["id"] { label += " (id \"\(id)\")" }
            profiles.append(try ProviderProfileReader(object: object, source: source, entry: label).profile())
        }
        return profiles
    }

    func profile() throws(ProviderCatalogError) -> ProviderProfile {
        if let unknown = object.keys.first(where: { !Self.keys.contains($0) }) {
            throw fail(unknown, "unknown key; valid keys are " + Self.keys.joined(separator: ", "))
        }
        if let missing = Self.keys.first(where: { object[$0] == nil }) {
            throw fail(missing, "missing; every key must be present (null where the docs are silent)")
        }
        let id = try slug("id")
        let notes = try optionalString("notes")
        let nullFacts = Self.nullableFacts.filter { if case .null = object[$0] { true } else { false } }
        if let first = nullFacts.first, notes == nil {
            throw fail("notes", "missing; \(first) is null, so the notes must say what is undocumented")
        }
        return ProviderProfile(
            id: id, name: try requiredString("name"), tokenURL: try urlTemplate("token_url")!,
            revocationURL: try urlTemplate("revocation_url", nullable: true),
            deviceAuthorizationURL: try urlTemplate("device_authorization_url", nullable: true),
            authorizationURL: try urlTemplate("authorization_url", nullable: true), clientAuth: try clientAuth(),
            refreshTokenRotates: try optionalBool("refresh_token_rotates"),
            refreshTokenIdleLifetime: try seconds("refresh_token_idle_lifetime_seconds"),
            refreshTokenAbsoluteLifetime: try seconds("refresh_token_absolute_lifetime_seconds"),
            rotationGrace: try seconds("rotation_grace_seconds"),
            defaultAccessTokenLifetime: try seconds("default_access_token_lifetime_seconds"), quirks: try quirks(),
            grants: try choices("grants", ProviderProfile.Grant.self),
            identityModels: try choices("identity_models", IdentityScope.self), sources: try sources(), notes: notes)
    }

    // MARK: - Fields

    private func slug(_ key: String) throws(ProviderCatalogError) -> String {
        let text = try requiredString(key)
        let allowed = text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
        }
        guard allowed, text.first != "-", text.last != "-" else {
            throw fail(key, "\"\(text)\" must be a slug: lower-case letters, digits and inner hyphens")
        }
        return text
    }

    private func requiredString(_ key: String) throws(ProviderCatalogError) -> String {
        guard case .string(let text) = object[key] else {
            throw fail(key, "expected a string, found \(object[key]?.kindName ?? "nothing")")
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw fail(key, "must not be empty")
        }
        return text
    }

    private func optionalString(_ key: String) throws(ProviderCatalogError) -> String? {
        if case .null = object[key] { return nil }
        return try requiredString(key)
    }

    private func optionalBool(_ key: String) throws(ProviderCatalogError) -> Bool? {
        switch object[key] {
        case .null: return nil
        case .bool(let value): return value
        default: throw fail(key, "expected true, false or null, found \(object[key]?.kindName ?? "nothing")")
        }
    }

    /// A whole, positive number of seconds, or null.
    private func seconds(_ key: String) throws(ProviderCatalogError) -> Int? {
        switch object[key] {
        case .null: return nil
        case .number(let value):
            guard value == value.rounded(), value > 0, value <= 1e12 else {
                throw fail(key, "expected a whole number of seconds greater than 0, found \(value)")
            }
            return Int(value)
        default: throw fail(key, "expected a number of seconds or null, found \(object[key]?.kindName ?? "nothing")")
        }
    }

    /// An https URL, possibly with `{placeholder}` segments.
    private func urlTemplate(_ key: String, nullable: Bool = false) throws(ProviderCatalogError) -> String? {
        if nullable, case .null = object[key] { return nil }
        let text = try requiredString(key)
        try checkHTTPS(text, field: key)
        return text
    }

    private func checkHTTPS(_ text: String, field: String) throws(ProviderCatalogError) {
        let names = ProviderProfile.placeholders(in: text)
        guard names.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }) else {
            throw fail(field, "a {placeholder} must be a non-empty name of letters, digits and _")
        }
        let values = Dictionary(names.map { ($0, "example") }, uniquingKeysWith: { first, _ in first })
        guard text.hasPrefix("https://"), ProviderProfile.url(text, values: values) != nil else {
            throw fail(field, "expected an absolute https URL, such as \"https://auth.example.com/oauth/token\"")
        }
    }

    private func clientAuth() throws(ProviderCatalogError) -> [ClientAuthMethod]? {
        if case .null = object["client_auth"] { return nil }
        let methods = try choices("client_auth", ClientAuthMethod.self)
        guard !methods.isEmpty else { throw fail("client_auth", "must not be empty; write null when undocumented") }
        return methods
    }

    /// An array of distinct raw values of `E`.
    private func choices<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws(ProviderCatalogError)
        -> [E]
    where E.RawValue == String {
        guard case .array(let elements) = object[key] else {
            throw fail(key, "expected an array of strings, found \(object[key]?.kindName ?? "nothing")")
        }
        var result: [E] = []
        var seen: Set<String> = []
        for (position, element) in elements.enumerated() {
            let field = "\(key)[\(position)]"
            guard case .string(let text) = element, let value = E(rawValue: text) else {
                let valid = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(field, "unknown value; expected one of \(valid)")
            }
            guard seen.insert(text).inserted else { throw fail(field, "\"\(text)\" is listed twice") }
            result.append(value)
        }
        return result
    }

    private func sources() throws(ProviderCatalogError) -> [URL] {
        guard case .array(let elements) = object["sources"], !elements.isEmpty else {
            throw fail("sources", "expected a non-empty array of the documentation URLs the facts come from")
        }
        var urls: [URL] = []
        for (position, element) in elements.enumerated() {
            let field = "sources[\(position)]"
            guard case .string(let text) = element else { throw fail(field, "expected a URL string") }
            guard ProviderProfile.placeholders(in: text).isEmpty, let url = ProviderProfile.url(text) else {
                throw fail(field, "expected an absolute https URL without placeholders")
            }
            urls.append(url)
        }
        return urls
    }

    private func quirks() throws(ProviderCatalogError) -> ProviderProfile.Quirks {
        guard case .object(let quirks) = object["quirks"] else {
            throw fail("quirks", "expected an object with " + Self.quirkKeys.joined(separator: ", "))
        }
        if let unknown = quirks.keys.first(where: { !Self.quirkKeys.contains($0) }) {
            throw fail("quirks.\(unknown)", "unknown key; valid keys are " + Self.quirkKeys.joined(separator: ", "))
        }
        func flag(_ key: String) throws(ProviderCatalogError) -> Bool {
            guard case .bool(let value) = quirks[key] else { throw fail("quirks.\(key)", "expected true or false") }
            return value
        }
        let shape: String?
        switch quirks["non_rfc_error_shape"] {
        case .null: shape = nil
        case .string(let text) where !text.isEmpty: shape = text
        default: throw fail("quirks.non_rfc_error_shape", "expected a short non-empty description or null")
        }
        return ProviderProfile.Quirks(
            errorsWithHTTP200: try flag("errors_with_http_200"),
            formEncodedUnlessAcceptJSON: try flag("form_encoded_unless_accept_json"), nonRFCErrorShape: shape)
    }
}
