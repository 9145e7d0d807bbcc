import Foundation

/// Reads the import file: integrations and connections with their secrets, as documented in
/// `docs/import-format.md`.
///
/// Parsing checks everything that can be checked without the store: the JSON itself, unknown keys, types, URLs,
/// enum values, duplicate ids and required secrets. Whether a connection's integration exists when the file does not
/// define it is checked by ``Store/importBundle(_:at:waiting:)``.
public enum ImportFile {
    static let topKeys = ["integrations", "connections"]
    static let integrationKeys = [
        "id", "provider", "token_url", "revocation_url", "client_id", "client_secret", "client_auth", "scopes",
        "redirect_uri", "private_key", "private_key_file", "authorization_url", "device_authorization_url",
        "api_key_in", "api_key_name", "probe_url", "probe_interval", "catalog_values", "audience",
        "resource",
    ]
    static let connectionKeys = [
        "id", "integration", "scope", "subject", "credential", "grant", "access_token", "secret", "refresh_token",
        "expires_at", "expires_in", "granted_scopes", "parent", "workspace", "members", "secret_set_at",
    ]
    /// The most members a workspace connection may list; the dashboard shows and filters them all.
    static let maximumMembers = 1_000
    /// The longest member name, the longest an e-mail address can be.
    static let maximumMemberLength = 320
    /// The longest workspace name.
    static let maximumWorkspaceLength = 200
    /// The longest subject: an e-mail address's longest, which also bounds the list's and dashboard's column.
    static let maximumSubjectLength = 320
    /// How far ahead of the import's clock a time that has passed (`secret_set_at`) may be: the clock of the machine
    /// that wrote the file may run a little ahead.
    static let clockSkew: TimeInterval = 5 * 60
    /// What each of a connection's `members` is.
    static let memberEntries = ImportFieldReader.ListEntry.name(maximumLength: maximumMemberLength)

    /// Parses and validates an import file.
    /// - Parameters:
    ///   - data: the file's bytes, UTF-8 JSON.
    ///   - source: the file's name as the user gave it; every error message starts with it.
    /// - Throws: ``ImportError`` naming the file, the entry and the field.
    public static func parse(_ data: Data, source: String) throws -> ImportBundle {
        try parse(try document(data, source: source), source: source)
    }

    /// The file's JSON, before anyone looks at what it holds (an import file or a whole-store export).
    static func document(_ data: Data, source: String) throws -> JSONValue {
        try document([UInt8](data), source: source)
    }

    /// The file's JSON, from its bytes.
    static func document(_ bytes: [UInt8], source: String) throws -> JSONValue {
        // An empty file (or /dev/null) would otherwise be named as invalid JSON at line 1, column 1.
        guard bytes.contains(where: { !" \t\r\n".utf8.contains($0) }) else {
            throw ImportError(
                file: source,
                problem: "the file is empty; expected a JSON object with \"integrations\" and \"connections\" arrays")
        }
        do {
            var parser = JSONParser(bytes: bytes)
            return try parser.parseDocument()
        } catch {
            throw notJSON(error, source: source)
        }
    }

    /// How an import names a file that is not JSON: where, and why.
    static func notJSON(_ error: JSONSyntaxError, source: String) -> ImportError {
        ImportError(
            file: source, problem: "not valid JSON: line \(error.line), column \(error.column): \(error.problem)")
    }

    /// Checks an import file already parsed as JSON.
    static func parse(_ root: JSONValue, source: String) throws -> ImportBundle {
        guard case .object(let top) = root else {
            throw ImportError(
                file: source,
                problem: "expected a JSON object with \"integrations\" and \"connections\" arrays, found "
                    + root.kindName)
        }
        let reader = ImportFieldReader(object: top, file: source, entry: nil)
        if top["tables"] != nil, top["integrations"] == nil, top["connections"] == nil {
            // An export whose "format" key was lost or misspelt: read as an import file, it was refused for keys
            // that are all an export's.
            throw ImportError(
                file: source, field: "format",
                problem: "missing; this looks like a file written by `tokentop export` (it has \"tables\"), which "
                    + "starts with \"format\": \"\(StoreExport.format)\"; this one lacks it or misspells it")
        }
        try reader.rejectUnknownKeys(topKeys)
        let integrationValues = try entries(reader, "integrations")
        let connectionValues = try entries(reader, "connections")
        guard !integrationValues.isEmpty || !connectionValues.isEmpty else {
            throw ImportError(file: source, problem: "the file has no integrations and no connections to import")
        }

        var bundle = ImportBundle(source: source)
        var integrationIndex: [String: Int] = [:]
        for (index, value) in integrationValues.enumerated() {
            let entry = try integration(value, index: index, file: source)
            let id = entry.integration.id
            if let earlier = integrationIndex[id] {
                throw ImportError(
                    file: source, entry: label("integrations", index, id: id), field: "id",
                    problem: "\(ImportError.quoted(id)) is already used by integrations[\(earlier)]")
            }
            integrationIndex[id] = index
            bundle.integrations.append(entry)
        }
        var connectionIndex: [String: Int] = [:]
        for (index, value) in connectionValues.enumerated() {
            let (entry, derived) = try connection(value, index: index, file: source)
            if let earlier = connectionIndex[entry.id] {
                let fix = derived ? "; give one of them an explicit \"id\"" : ""
                throw ImportError(
                    file: source, entry: label("connections", index, id: entry.id), field: "id",
                    problem: "\(ImportError.quoted(entry.id)) is already used by connections[\(earlier)]\(fix)")
            }
            connectionIndex[entry.id] = index
            bundle.connections.append(entry)
        }
        return bundle
    }

    /// The default id of a connection: `<integration>-<subject slug>`, for example `acme-alice-example-com`; in
    /// Unicode NFC, as every id is, whichever way the subject spells its accents.
    public static func defaultConnectionID(integration: String, subject: String) -> String {
        var slug = ""
        for character in subject.lowercased() {
            if character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.isEmpty, slug.last != "-" {
                slug.append("-")
            }
        }
        while slug.last == "-" { slug.removeLast() }
        return slug.isEmpty ? "" : "\(integration)-\(slug)".precomposedStringWithCanonicalMapping
    }

    // MARK: - Entries

    private static func entries(_ reader: ImportFieldReader, _ key: String) throws -> [JSONObject] {
        guard let value = reader.value(key) else { return [] }
        guard case .array(let elements) = value else {
            throw reader.fail(key, "expected an array of objects, found \(value.kindName)")
        }
        return try elements.enumerated().map { index, element in
            guard case .object(let object) = element else {
                throw ImportError(
                    file: reader.file, entry: "\(key)[\(index)]",
                    problem: "expected an object, found \(element.kindName)")
            }
            return object
        }
    }

    private static func label(_ list: String, _ index: Int, id: String?) -> String {
        id.map { "\(list)[\(index)] (id \(ImportError.quoted($0)))" } ?? "\(list)[\(index)]"
    }

    private static func integration(
        _ object: JSONObject, index: Int, file: String
    ) throws -> ImportBundle.IntegrationEntry {
        let plainID: String? = if case .string(let text) = object["id"] { text } else { nil }
        let reader = ImportFieldReader(object: object, file: file, entry: label("integrations", index, id: plainID))
        try reader.rejectUnknownKeys(integrationKeys)
        guard let id = try reader.identifier("id", "the integration a name that connections refer to") else {
            throw reader.fail("id", "missing; give the integration a name that connections refer to")
        }
        let provider = try reader.requiredString("provider", "the provider's name, for example \"github\"")
        let catalog = try CatalogDefaults(reader, provider: provider)
        guard let tokenURL = try reader.httpURL("token_url") ?? catalog.url(\.tokenURL, "token_url") else {
            throw reader.fail(
                "token_url",
                "missing; give the provider's token endpoint (\(ImportError.quoted(provider)) is not in the "
                    + "provider catalog, see tokentop providers)")
        }
        let revocationURL = try reader.httpURL("revocation_url") ?? catalog.url(\.revocationURL, "revocation_url")
        let clientID = try reader.requiredString("client_id", "the client id the provider issued")
        let key = try privateKey(reader, source: file)
        if key != nil, object["client_secret"] != nil {
            throw reader.fail("client_secret", "give a client_secret or a private key, not both")
        }
        let clientSecret = try key?.pem ?? reader.secret("client_secret")
        let clientAuth =
            try reader.choice("client_auth", ClientAuthMethod.self)
            ?? (key == nil ? catalog.profile?.defaultClientAuth ?? .clientSecretBasic : .none)
        switch (clientAuth, key) {
        case (.privateKeyJWT, nil):
            throw reader.fail(
                "client_auth",
                "private_key_jwt signs with the integration's private key; give it in private_key_file (or "
                    + "private_key), not a client_secret")
        case (.clientSecretBasic, .some), (.clientSecretPost, .some):
            throw reader.fail(
                "client_auth",
                "\(clientAuth.rawValue) would send the private key itself to the provider as a client secret; a key "
                    + "authenticates by signing: use \"private_key_jwt\", or \"none\" when the grant's own assertion "
                    + "proves the client (jwt_bearer)")
        default:
            break
        }
        if key == nil, clientAuth != .none, clientSecret == nil {
            throw reader.fail(
                "client_secret",
                "missing; client_auth \(clientAuth.rawValue) needs a client_secret "
                    + "(use \"client_auth\": \"none\" for a public client)")
        }
        let scopes = try reader.strings("scopes", entries: .scopeToken) ?? []
        let redirectURI = try reader.redirectURI("redirect_uri")
        let integration = Integration(
            id: id, provider: provider, tokenURL: tokenURL, revocationURL: revocationURL, clientID: clientID,
            clientAuth: clientAuth, scopes: scopes, redirectURI: redirectURI,
            secretFingerprint: key.map { "sha256:" + $0.key.publicKeyFingerprint.prefix(16) }
                ?? clientSecret?.fingerprint,
            secretKind: key == nil ? .clientSecret : .privateKey,
            authorizationURL: try reader.httpURL("authorization_url")
                ?? catalog.url(\.authorizationURL, "authorization_url"),
            deviceAuthorizationURL: try reader.httpURL("device_authorization_url")
                ?? catalog.url(\.deviceAuthorizationURL, "device_authorization_url"),
            apiKeyPlacement: try apiKeyPlacement(reader), probeURL: try reader.httpURL("probe_url"),
            probeInterval: try probeInterval(reader), audiences: try exchangeTargets(reader, "audience"),
            resources: try exchangeTargets(reader, "resource"))
        return ImportBundle.IntegrationEntry(integration: integration, clientSecret: clientSecret)
    }

    /// `api_key_in` and `api_key_name`: where the integration's API keys travel; both or neither. An import file's
    /// integration and a restored row are held to this.
    static func apiKeyPlacement(_ reader: ImportFieldReader) throws -> APIKeyPlacement? {
        let location = try reader.choice("api_key_in", APIKeyPlacement.Location.self)
        let name = try reader.string("api_key_name")
        switch (location, name) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw reader.fail("api_key_name", "missing; api_key_in needs the header's or parameter's name")
        case (nil, .some):
            throw reader.fail("api_key_in", "missing; say whether api_key_name is a \"header\" or a \"query\" name")
        case (.some(let location), .some(let name)):
            let token = name.unicodeScalars.allSatisfy {
                $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && !"()<>@,;:\\\"/[]?={}&#".unicodeScalars.contains($0)
            }
            guard !name.isEmpty, token else {
                throw reader.fail("api_key_name", "expected a plain header or parameter name, such as \"X-API-Key\"")
            }
            return APIKeyPlacement(location: location, name: name)
        }
    }

    /// `probe_interval`: seconds between scheduled probes, from one minute to one week, with a `probe_url` to
    /// probe. An import file's integration and a restored row are held to this.
    static func probeInterval(_ reader: ImportFieldReader) throws -> TimeInterval? {
        guard let seconds = try reader.number("probe_interval") else { return nil }
        guard seconds >= 60, seconds <= 7 * 86_400 else {
            throw reader.fail("probe_interval", "expected seconds between 60 (one minute) and 604800 (one week)")
        }
        guard reader.value("probe_url") != nil else {
            throw reader.fail("probe_interval", "given without a probe_url to check")
        }
        return seconds
    }

    /// A PEM private key given inline (`private_key`) or by path (`private_key_file`), loaded once to check it.
    private static func privateKey(
        _ reader: ImportFieldReader, source: String
    ) throws -> (pem: Secret, key: SigningKey)? {
        // Read as it is: a PEM is lines of text, so its line breaks are no reason to refuse it.
        var inline: Secret?
        if let value = reader.value("private_key") {
            guard case .string(let text) = value else {
                throw reader.fail("private_key", "expected a string, found \(value.kindName)")
            }
            inline = Secret(text)
        }
        let path = try reader.string("private_key_file")
        if inline != nil, path != nil {
            throw reader.fail("private_key_file", "give private_key or private_key_file, not both")
        }
        let field = path == nil ? "private_key" : "private_key_file"
        let pem: Secret
        if let path {
            // Relative to the import file, like any path in a configuration file.
            let base = source == "-" ? "" : Paths.directory(of: source)
            let resolved = path.hasPrefix("/") || base.isEmpty ? path : base + "/" + path
            guard let data = FileManager.default.contents(atPath: resolved) else {
                throw reader.fail(field, "cannot read the key file \(resolved)")
            }
            pem = Secret(String(decoding: data, as: UTF8.self))
        } else if let inline {
            pem = inline
        } else {
            return nil
        }
        do {
            return (pem, try SigningKey(pem: pem.value, label: path ?? "the private key"))
        } catch {
            throw reader.fail(field, error.message)
        }
    }

    /// The connection at `index`, and whether its id was derived rather than given.
    private static func connection(
        _ object: JSONObject, index: Int, file: String
    ) throws -> (ImportBundle.ConnectionEntry, Bool) {
        var reader = ImportFieldReader(object: object, file: file, entry: label("connections", index, id: nil))
        if case .string(let text) = object["id"] {
            reader = ImportFieldReader(object: object, file: file, entry: label("connections", index, id: text))
        } else if case .string(let integration) = object["integration"], case .string(let subject) = object["subject"] {
            let derived = defaultConnectionID(integration: integration, subject: subject)
            if !derived.isEmpty {
                reader = ImportFieldReader(object: object, file: file, entry: label("connections", index, id: derived))
            }
        }
        try reader.rejectUnknownKeys(connectionKeys)
        guard let integration = try reader.identifier("integration", "the id of the connection's integration") else {
            throw reader.fail("integration", "missing; give the id of the connection's integration")
        }
        guard let scope = try reader.choice("scope", IdentityScope.self) else {
            let valid = IdentityScope.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.fail("scope", "missing; give one of \(valid)")
        }
        let subject = try reader.subject("subject")
        let givenID = try reader.identifier("id", "the connection a name")
        let id = givenID ?? defaultConnectionID(integration: integration, subject: subject)
        if givenID == nil {
            guard !id.isEmpty else {
                throw reader.fail(
                    "id",
                    "missing, and the subject has no letters or digits to derive one from; "
                        + "give the connection an \"id\"")
            }
            guard id.count <= ImportFieldReader.maximumIdentifierLength else {
                throw reader.fail(
                    "id",
                    "missing, and the one made from the integration and the subject would be longer than "
                        + "\(ImportFieldReader.maximumIdentifierLength) characters; give the connection an \"id\"")
            }
            try reader.checkIdentifier(id, field: "id", purpose: "the connection a name")
        }
        let credential = try reader.choice("credential", CredentialKind.self) ?? .oauth2
        // Grants that mint a token from the integration's key or secret, or from the parent's token, need none to
        // start with.
        let minted: Set<String> = [
            "client_credentials", "jwt_bearer", "github_app_installation", "on_behalf_of", "token_exchange",
        ]
        let mintedGrant: Bool = if case .string(let text) = object["grant"] { minted.contains(text) } else { false }
        let accessToken = try self.accessToken(reader, credential: credential, optional: mintedGrant)
        let colon = accessToken?.value.firstIndex(of: ":")
        if credential == .basic, let secret = accessToken?.value, colon == nil || colon == secret.startIndex {
            throw reader.fail(
                reader.value("secret") == nil ? "access_token" : "secret",
                "a basic credential is \"user:password\", a user name, a colon and the password")
        }
        let refreshToken = try reader.secret("refresh_token")
        if refreshToken != nil, credential != .oauth2 {
            throw reader.fail(
                "refresh_token",
                "only an oauth2 credential has a refresh token, not \(credential.rawValue)")
        }
        let grant = try reader.choice("grant", GrantKind.self) ?? (refreshToken == nil ? .none : .refreshToken)
        try checkStaticGrant(reader, "grant", grant: grant, credential: credential)
        if grant != .refreshToken, refreshToken != nil {
            // Only the refresh_token grant sends one; any other grant would keep a secret it never uses.
            let why =
                grant == .none
                ? "grant none never renews the token" : "grant \(grant.rawValue) renews without a refresh token"
            throw reader.fail(
                "refresh_token",
                "\(why), so the refresh token would be stored and never used; leave it out, or choose grant "
                    + "refresh_token")
        }
        if grant == .refreshToken, refreshToken == nil {
            throw reader.fail(
                "refresh_token",
                "missing; grant refresh_token needs a refresh_token "
                    + "(or choose another grant, or \"none\")")
        }
        let expiresAt = try reader.time("expires_at")
        let expiresIn = try reader.number("expires_in")
        if let expiresIn {
            guard expiresAt == nil else { throw reader.fail("expires_in", "give expires_at or expires_in, not both") }
            guard expiresIn >= 0 else { throw reader.fail("expires_in", "expected seconds from now, 0 or more") }
            guard expiresIn <= 10 * 365 * 86_400 else {
                throw reader.fail("expires_in", "more than ten years; give an expiry a token can really have")
            }
        }
        if let expiresAt, expiresAt.timeIntervalSinceNow > 10 * 365 * 86_400 {
            throw reader.fail("expires_at", "more than ten years ahead; give an expiry a token can really have")
        }
        if credential != .oauth2, expiresAt != nil || expiresIn != nil {
            // FIXME: API keys and app keys can expire too; until tokentop tracks that, it refuses rather than ignores.
            throw reader.fail(
                expiresAt != nil ? "expires_at" : "expires_in",
                "only oauth2 credentials carry an expiry here; a \(credential.rawValue) credential is static")
        }
        let parentID = try reader.identifier("parent", "the id of the connection this one is derived from")
        if let parentID, parentID == id {
            throw reader.fail("parent", "a connection cannot be its own parent")
        }
        try checkDerivedGrant(reader, grant: grant, parentID: parentID)
        let workspace = try reader.workspace("workspace")
        // The dashboard lists and filters members on every frame; an address is at most 320 characters (RFC 3696).
        let members = try reader.strings("members", maximumCount: Self.maximumMembers, entries: memberEntries) ?? []
        // A member named twice would be listed twice under a heading that counts people: `Ann@Example.com` and
        // `ann@example.com` are one mailbox, and spaces around a name are invisible in a list.
        var seen: [String: Int] = [:]
        for (index, member) in members.enumerated() {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            guard trimmed == member else {
                throw reader.fail("members[\(index)]", "has spaces around it; remove them")
            }
            if let first = seen.updateValue(index, forKey: trimmed.lowercased()) {
                throw reader.fail(
                    "members[\(index)]", "repeats members[\(first)] (compared without case); name each member once")
            }
        }
        let secretSetAt = try reader.time("secret_set_at")
        // As for every time of the file: not more than ten years ahead (a demo or a test may run on a later clock).
        // That it has passed at the moment of the import is the store's to check, on the import's clock.
        if let secretSetAt, secretSetAt.timeIntervalSinceNow > 10 * 365 * 86_400 {
            throw reader.fail("secret_set_at", "more than ten years ahead; give when the secret was set")
        }
        let entry = ImportBundle.ConnectionEntry(
            id: id, integrationID: integration, scope: scope, subject: subject, credential: credential, grant: grant,
            accessToken: accessToken, refreshToken: refreshToken, expiresAt: expiresAt, expiresIn: expiresIn,
            grantedScopes: try reader.strings("granted_scopes", entries: .scopeToken) ?? [], parentID: parentID,
            workspace: workspace, members: members, secretSetAt: secretSetAt, idDerived: givenID == nil)
        return (entry, givenID == nil)
    }

    /// What is wrong with a secret set at `setAt`, on the clock of an import at `now`, or nil: it must have passed,
    /// give or take ``clockSkew``, or the secret would show as set just now until then, and its age would be wrong
    /// after. An import file's connection and a restored row (`secret_set_at` in both) are held to this.
    static func secretSetAtProblem(_ setAt: Date, at now: Date) -> String? {
        guard setAt.timeIntervalSince(now) > clockSkew else { return nil }
        return "\(RFC3339.string(from: setAt)) is in the future; give when the secret was set (at most "
            + "\(Int(clockSkew / 60)) minutes ahead of this machine's clock, for clock skew); nothing was imported"
    }

    /// Refuses a grant other than `none` for a credential other than OAuth 2.0, which nothing renews. An import
    /// file's connection (`grant`) and a restored row (`grant_kind`) are held to this.
    static func checkStaticGrant(
        _ reader: ImportFieldReader, _ field: String, grant: GrantKind, credential: CredentialKind
    ) throws {
        if grant != .none, credential != .oauth2 {
            throw reader.fail(field, "\(credential.rawValue) credentials are static; their grant is none")
        }
    }

    /// The access token, or for other credentials the key in `access_token` or its alias `secret`.
    private static func accessToken(
        _ reader: ImportFieldReader, credential: CredentialKind, optional: Bool
    ) throws -> Secret? {
        let token = try reader.secret("access_token")
        let alias = try reader.secret("secret")
        if alias != nil {
            guard credential != .oauth2 else {
                throw reader.fail("secret", "an oauth2 credential takes its token in access_token")
            }
            guard token == nil else { throw reader.fail("secret", "give access_token or secret, not both") }
        }
        if optional, token == nil, alias == nil { return nil }
        guard let value = token ?? alias else {
            let what =
                credential == .oauth2
                ? "an oauth2 connection needs its access_token"
                : "a \(credential.rawValue) connection needs its secret in access_token (or secret)"
            throw reader.fail("access_token", "missing; \(what)")
        }
        return value
    }
}
