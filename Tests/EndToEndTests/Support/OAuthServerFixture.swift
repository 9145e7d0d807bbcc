import Foundation
import Testing
import TokentopTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The django-oauth-toolkit server of `Tests/Interop/dot`, as `scripts/oauth-server` describes it.
///
/// `scripts/test` starts the server and exports the `TOKENTOP_OAUTH_*` variables. When they are
/// missing, a plain `swift test` starts the server itself (it then exits with the test process);
/// under `CI=true` a missing server is a failure, never a silent skip. Token values never appear
/// in anything this type prints or throws.
struct OAuthServerFixture: Sendable {
    /// How a client authenticates at the token endpoint (RFC 6749 §2.3.1).
    enum ClientAuthentication: Sendable {
        /// `Authorization: Basic` with the form-encoded id and secret (client_secret_basic).
        case basic
        /// `client_id` and `client_secret` in the form body (client_secret_post).
        case post
    }

    /// A confidential client registered by `manage.py tokentop_fixtures`; the secret is fake.
    struct Client: Sendable {
        let id: String
        let secret: String
        let authentication: ClientAuthentication
    }

    /// The decoded JSON of a successful token response (RFC 6749 §5.1).
    ///
    /// Its descriptions are redacted, so a failing `#expect` never prints a token.
    struct TokenSet: Decodable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        let accessToken: String
        let refreshToken: String?
        let expiresIn: Int?
        let tokenType: String
        let scope: String?

        var description: String {
            "TokenSet(type: \(tokenType), expiresIn: \(expiresIn.map(String.init) ?? "nil"), <redacted>)"
        }

        var debugDescription: String { description }
    }

    /// One answer of the token endpoint: either tokens or the OAuth `error` code (RFC 6749 §5.2).
    struct TokenReply: Sendable {
        let status: Int
        let tokens: TokenSet?
        let error: String?
    }

    let baseURL: URL
    let tokenURL: URL
    let revokeURL: URL
    let introspectURL: URL
    /// `tokentop-basic`, used with client_secret_basic.
    let basicClient: Client
    /// `tokentop-post`, used with client_secret_post.
    let postClient: Client
    /// `introspector`, which calls /o/introspect/ with HTTP basic client authentication.
    let introspector: Client
    /// `tokentop-bot-basic`, a client_credentials app, used with client_secret_basic.
    let botBasicClient: Client
    /// `tokentop-bot-post`, a client_credentials app, used with client_secret_post.
    let botPostClient: Client
    /// The venv's interpreter (Django, requests, sqlite3).
    let python: String
    let username: String
    let password: String
    let accessTokenSeconds: Int
    /// REFRESH_TOKEN_GRACE_PERIOD_SECONDS: 0 on the shared server.
    let graceSeconds: Int
    /// The server's run directory (pid, port, database), which `scripts/oauth-server seed` and `stop` need.
    let runDirectory: String

    // MARK: - Finding the server

    /// The server for this test process: from the environment, or started once on first use.
    static func shared() async throws -> OAuthServerFixture {
        try await startup.value
    }

    private static let startup = Task<OAuthServerFixture, any Error> {
        let environment = ProcessInfo.processInfo.environment
        if let fixture = try OAuthServerFixture(environment: environment) {
            return fixture
        }
        if environment["CI"] == "true" {
            throw Failure(
                "TOKENTOP_OAUTH_URL is not set under CI=true: run the suite through scripts/test, "
                    + "which starts the django-oauth-toolkit server")
        }
        let started = try await startServer(runDirectory: nil, settings: [:])
        guard let fixture = try OAuthServerFixture(environment: started) else {
            throw Failure("scripts/oauth-server start printed no TOKENTOP_OAUTH_URL")
        }
        return fixture
    }

    /// Reads the `TOKENTOP_OAUTH_*` variables; nil when the server's URL is not among them.
    init?(environment: [String: String]) throws {
        guard let base = environment["TOKENTOP_OAUTH_URL"], !base.isEmpty else {
            return nil
        }
        func value(_ key: String) throws -> String {
            guard let value = environment[key], !value.isEmpty else {
                throw Failure("\(key) is missing although TOKENTOP_OAUTH_URL is set")
            }
            return value
        }
        func url(_ string: String) throws -> URL {
            guard let url = URL(string: string) else {
                throw Failure("not a URL: \(string)")
            }
            return url
        }
        baseURL = try url(base)
        tokenURL = try url(environment["TOKENTOP_OAUTH_TOKEN_URL"] ?? base + "/o/token/")
        revokeURL = try url(environment["TOKENTOP_OAUTH_REVOKE_URL"] ?? base + "/o/revoke_token/")
        introspectURL = try url(environment["TOKENTOP_OAUTH_INTROSPECT_URL"] ?? base + "/o/introspect/")
        // Each client's id and secret come in TOKENTOP_OAUTH_<NAME>_CLIENT_ID and _CLIENT_SECRET.
        func client(_ name: String, _ authentication: ClientAuthentication) throws -> Client {
            Client(
                id: try value("TOKENTOP_OAUTH_\(name)_CLIENT_ID"),
                secret: try value("TOKENTOP_OAUTH_\(name)_CLIENT_SECRET"), authentication: authentication)
        }
        basicClient = try client("BASIC", .basic)
        postClient = try client("POST", .post)
        introspector = try client("INTROSPECT", .basic)
        botBasicClient = try client("BOT_BASIC", .basic)
        botPostClient = try client("BOT_POST", .post)
        python = try value("TOKENTOP_OAUTH_PYTHON")
        username = try value("TOKENTOP_OAUTH_USERNAME")
        password = try value("TOKENTOP_OAUTH_PASSWORD")
        accessTokenSeconds = Int(environment["TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS"] ?? "") ?? 3600
        graceSeconds = Int(environment["TOKENTOP_OAUTH_GRACE_SECONDS"] ?? "") ?? 0
        runDirectory =
            environment["TOKENTOP_INTEROP_RUN_DIR"]
            ?? ProcessInfo.processInfo.environment["TOKENTOP_INTEROP_RUN_DIR"]
            ?? Self.packageRoot.appendingPathComponent(".build/interop-run").path
    }

    /// Starts a server of the caller's own in `runDirectory`, with settings the shared one must not have
    /// (`TOKENTOP_OAUTH_ACCESS_TOKEN_SECONDS`, `TOKENTOP_OAUTH_GRACE_SECONDS`); ``stop()`` ends it, and it exits
    /// with the test process in any case.
    static func startPrivate(runDirectory: String, settings: [String: String]) async throws -> OAuthServerFixture {
        var values = try await startServer(runDirectory: runDirectory, settings: settings)
        values["TOKENTOP_INTEROP_RUN_DIR"] = runDirectory
        guard let fixture = try OAuthServerFixture(environment: values) else {
            throw Failure("scripts/oauth-server start printed no TOKENTOP_OAUTH_URL")
        }
        return fixture
    }

    /// Stops a server started with ``startPrivate(runDirectory:settings:)``.
    func stop() throws {
        let run = try Binary.run(
            executable: Self.packageRoot.appendingPathComponent("scripts/oauth-server").path, ["stop"],
            environment: ["TOKENTOP_INTEROP_RUN_DIR": runDirectory])
        guard run.status == 0 else { throw Failure("scripts/oauth-server stop: \(run.stderr)") }
    }

    /// Issues `count` token pairs for the fixture user under `client` straight into the server's database, far
    /// faster than `count` password grants; each refresh token is its own family, as after a password grant.
    func seed(client: Client, count: Int) throws -> [(access: String, refresh: String)] {
        let prefix = "seed-" + UUID().uuidString.prefix(8).lowercased()
        let run = try Binary.run(
            executable: Self.packageRoot.appendingPathComponent("scripts/oauth-server").path,
            ["seed", client.id, prefix, String(count)], environment: ["TOKENTOP_INTEROP_RUN_DIR": runDirectory])
        guard run.status == 0 else { throw Failure("scripts/oauth-server seed failed: \(run.stderr)") }
        // The database seeded must be the one behind this fixture's URL.
        let seededFor = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard seededFor == baseURL.absoluteString else {
            throw Failure("seeded the server at \(seededFor), but the tests talk to \(baseURL.absoluteString)")
        }
        return (0..<count).map { index in
            let number = String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index)
            return ("fake-at-\(prefix)-\(number)", "fake-rt-\(prefix)-\(number)")
        }
    }

    /// The package root, found from this file's place in `Tests/EndToEndTests/Support/`.
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Runs `scripts/oauth-server start` and returns the `KEY=VALUE` lines it prints.
    /// - Parameters:
    ///   - runDirectory: the server's own run directory, or nil for the shared one.
    ///   - settings: `TOKENTOP_OAUTH_*` settings for the server.
    private static func startServer(
        runDirectory: String?, settings: [String: String]
    ) async throws -> [String: String] {
        let script = packageRoot.appendingPathComponent("scripts/oauth-server")
        let process = Child()
        process.executableURL = script
        process.arguments = ["start"]
        var environment = ProcessInfo.processInfo.environment
        // The server exits once this test process is gone, so a local `swift test` leaves nothing behind.
        environment["TOKENTOP_OAUTH_WATCH_PID"] = String(ProcessInfo.processInfo.processIdentifier)
        if let runDirectory { environment["TOKENTOP_INTEROP_RUN_DIR"] = runDirectory }
        environment.merge(settings) { $1 }
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        // stderr stays attached: the script reports progress and, on failure, the server log there.

        let data: Data = try await withCheckedThrowingContinuation { continuation in
            // Reading to EOF and waiting block a thread; keep them off the cooperative pool, on a thread of their
            // own (the global queue's threads come about a second apart on Linux once its first ones are busy).
            Thread.detachNewThread {
                do {
                    try process.run()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: data)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        guard process.terminationStatus == 0 else {
            throw Failure(
                "scripts/oauth-server start exited with \(process.terminationStatus); see its output above")
        }
        var values: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    // MARK: - Endpoints

    /// Runs the resource owner password grant for the fixture user.
    /// - Throws: `Failure` with the status and OAuth error code when the server refuses.
    func passwordGrant(client: Client) async throws -> (access: String, refresh: String, expiresIn: Int) {
        let reply = try await token(
            ["grant_type": "password", "username": username, "password": password], client: client)
        guard let tokens = reply.tokens, let refresh = tokens.refreshToken, let expiresIn = tokens.expiresIn else {
            throw Failure("password grant failed: HTTP \(reply.status) \(reply.error ?? "no tokens")")
        }
        return (tokens.accessToken, refresh, expiresIn)
    }

    /// Runs the refresh_token grant (RFC 6749 §6); the reply carries tokens or the error code.
    func refreshGrant(refreshToken: String, client: Client) async throws -> TokenReply {
        try await token(["grant_type": "refresh_token", "refresh_token": refreshToken], client: client)
    }

    /// POSTs a form to the token endpoint, authenticating the client as it is registered.
    func token(_ form: [String: String], client: Client) async throws -> TokenReply {
        let (status, body) = try await post(form, to: tokenURL, client: client)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        if status == 200 {
            return TokenReply(status: status, tokens: try decoder.decode(TokenSet.self, from: body), error: nil)
        }
        let error = try? decoder.decode(OAuthError.self, from: body)
        return TokenReply(status: status, tokens: nil, error: error?.error)
    }

    /// Revokes a token at the RFC 7009 endpoint and returns the HTTP status (200 even for unknown tokens).
    func revoke(token: String, hint: String? = nil, client: Client) async throws -> Int {
        var form = ["token": token]
        if let hint {
            form["token_type_hint"] = hint
        }
        return try await post(form, to: revokeURL, client: client).status
    }

    /// Asks the RFC 7662 endpoint, as the introspector client, whether an access token is active.
    func introspect(token: String) async throws -> Bool {
        try await introspection(of: token).active
    }

    /// The RFC 7662 answer about an access token, as the introspector client gets it.
    func introspection(of token: String) async throws -> Introspection {
        let (status, body) = try await post(["token": token], to: introspectURL, client: introspector)
        guard status == 200 else {
            throw Failure("introspection failed: HTTP \(status)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Introspection.self, from: body)
    }

    // MARK: - HTTP

    private func post(
        _ form: [String: String], to url: URL, client: Client
    ) async throws -> (status: Int, body: Data) {
        var fields = form
        var request = URLRequest(url: url, timeoutInterval: 30)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        switch client.authentication {
        case .basic:
            let pair = Self.formEncode(client.id) + ":" + Self.formEncode(client.secret)
            request.setValue("Basic " + Data(pair.utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        case .post:
            fields["client_id"] = client.id
            fields["client_secret"] = client.secret
        }
        request.httpBody = Data(
            fields.sorted { $0.key < $1.key }
                .map { Self.formEncode($0.key) + "=" + Self.formEncode($0.value) }
                .joined(separator: "&").utf8)
        let (body, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else {
            throw Failure("no HTTP response from \(url.path)")
        }
        return (http.statusCode, body)
    }

    /// application/x-www-form-urlencoded: only RFC 3986 unreserved characters stay as they are.
    private static func formEncode(_ string: String) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        allowed.insert(charactersIn: "0123456789-._~")
        return string.addingPercentEncoding(withAllowedCharacters: allowed) ?? string
    }

    /// Ephemeral: no cookies or cache shared between tests.
    private static let session = URLSession(configuration: .ephemeral)

    /// A fixture problem; the message names the cause and never includes a token value.
    struct Failure: Error, CustomStringConvertible {
        let description: String

        init(_ description: String) {
            self.description = description
        }
    }

    private struct OAuthError: Decodable {
        let error: String
    }

    /// RFC 7662 §2.2: only `active` is always there; the rest describes an active token.
    struct Introspection: Decodable, Sendable {
        let active: Bool
        /// The client the token was issued to.
        let clientId: String?
        /// Space-separated scopes granted.
        let scope: String?
        /// Expiry, in seconds since 1970.
        let exp: Int?
    }
}
