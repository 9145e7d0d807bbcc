import Foundation
import Testing
import TokentopTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The JWT-verifying token server of `Tests/Interop/assertions/server.py`, with an RSA key pair made for it.
///
/// Each fixture generates a fresh RSA 2048 key pair with `openssl` in a private temporary folder (keys are never
/// committed), starts the server with the interop venv's python on 127.0.0.1 and a port the kernel picks, and trusts
/// only that key's public half. The server answers RFC 7523 JWT bearer grants (Google domain-wide delegation) at
/// ``tokenURL`` and GitHub App installation tokens under ``baseURL``; it remembers what it verified and refused.
///
/// Dropping the fixture kills the server with SIGKILL and deletes the folder. Tokens the server issues never appear
/// in anything this type prints or throws.
final class AssertionServerFixture {
    /// The service account whose assertions the server accepts: the JWT bearer `iss`.
    static let serviceAccount = "svc@fake-project.iam.example"
    /// The GitHub App whose JWTs the server accepts: the app JWT's `iss`.
    static let appID = "424242"
    /// The one installation of the app that exists; any other id answers 404, as for an uninstalled app.
    static let installationID = "1001"
    /// An installation id the server does not know.
    static let missingInstallationID = "4040"

    /// One request the server verified, or one it refused (then only `grant`, `error` and `errorDescription` are
    /// set).
    struct Record: Decodable, Sendable, Equatable {
        /// `jwt_bearer`, `github_app_installation`, `on_behalf_of`, `token_exchange` or `refresh_token`.
        let grant: String
        let sub: String?
        let scope: String?
        let iss: String?
        let installation: String?
        /// The derived grants' `audience` and `resource` parameters, sorted.
        let audience: [String]?
        let resource: [String]?
        /// How the client authenticated: `client_secret_basic` or `client_secret_post`.
        let clientAuth: String?
        /// How many times the upstream token's grant had been refreshed when the token was issued; 0 when seeded.
        let upstreamGeneration: Int?
        let error: String?
        let errorDescription: String?
    }

    /// One HTTP answer of the server: the status and the decoded JSON object.
    ///
    /// Its descriptions leave out the body, which may hold a (fake) token.
    struct Reply: CustomStringConvertible {
        let status: Int
        let object: [String: Any]

        func string(_ key: String) -> String? { object[key] as? String }

        var description: String {
            "Reply(status: \(status), error: \(string("error") ?? string("message") ?? "none"), "
                + "error_description: \(string("error_description") ?? "none"))"
        }
    }

    /// The temporary folder with the keys and the server's log.
    let directory: URL
    /// The private key the server trusts (PEM, mode 0600).
    let privateKeyPath: String
    /// Its public half, which the server was given.
    let publicKeyPath: String
    let port: Int
    private let process: Child

    /// The server's process id.
    var pid: Int32 { process.processIdentifier }

    /// `http://127.0.0.1:PORT`: the GitHub API base.
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    /// `http://127.0.0.1:PORT/token`: the JWT bearer token endpoint, and the `aud` its assertions must name.
    var tokenURL: URL { URL(string: "http://127.0.0.1:\(port)/token")! }
    /// The server's stderr, for a failing test's message.
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }

    // MARK: - Starting and stopping

    /// Generates a key pair and starts the server.
    ///
    /// When the venv or `openssl` is missing, the test is cancelled (a skip) locally and fails under `CI=true`.
    /// A server that is there but does not start is always a failure.
    /// - Parameter upstreamLifetime: seconds the access tokens of the parent's refresh grant live.
    static func start(upstreamLifetime: Int = 3600) async throws -> AssertionServerFixture {
        let python = try await interpreter()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokentop-assertions-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            let (privateKey, publicKey) = try generateKeyPair(in: directory, name: "trusted")
            return try await AssertionServerFixture(
                python: python, directory: directory, privateKey: privateKey, publicKey: publicKey,
                extra: Self.delegationArguments(upstreamLifetime: upstreamLifetime))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private init(
        python: String, directory: URL, privateKey: String, publicKey: String, extra: [String]
    ) async throws {
        self.directory = directory
        privateKeyPath = privateKey
        publicKeyPath = publicKey
        let arguments = [
            "--issuer", Self.serviceAccount, "--app-id", Self.appID, "--installation", Self.installationID,
            "--watch-pid", String(ProcessInfo.processInfo.processIdentifier),
        ]
        // deinit does not run for a partly initialised object: startPython stops a server that printed no port.
        (process, port) = try await ServerLaunch.startPython(
            python, script: "Tests/Interop/assertions/server.py", arguments: arguments + extra + [publicKey],
            directory: directory)
    }

    deinit {
        // SIGKILL: gone at once, before the test removes its files.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The interop venv's python, which has `cryptography`; `scripts/oauth-server start` creates the venv.
    private static func interpreter() async throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let venv =
            environment["TOKENTOP_INTEROP_VENV"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? OAuthServerFixture.packageRoot.appendingPathComponent(".build/interop-venv")
        let python = venv.appendingPathComponent("bin/python").path
        guard tool("openssl") != nil else {
            try unavailable("openssl is not on PATH; it generates the test keys (apt-get install openssl)")
        }
        if FileManager.default.isExecutableFile(atPath: python) { return python }
        do {
            // Starting the django-oauth-toolkit server builds the venv; it is shared with the interop tests.
            _ = try await OAuthServerFixture.shared()
        } catch {
            try unavailable("no venv at \(venv.path), and scripts/oauth-server start failed: \(error)")
        }
        guard FileManager.default.isExecutableFile(atPath: python) else {
            try unavailable("no python at \(python) after scripts/oauth-server start")
        }
        return python
    }

    /// A failure under `CI=true`, where a missing prerequisite must not pass silently; a skip elsewhere.
    private static func unavailable(_ why: String) throws -> Never {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            throw OAuthServerFixture.Failure("the JWT-verifying server cannot start under CI=true: \(why)")
        }
        try Test.cancel("the JWT-verifying server cannot start: \(why)")
    }

    // MARK: - Keys and JWTs

    /// Generates another RSA 2048 key pair in the fixture's folder, one the server does not trust.
    /// - Returns: the private key's path.
    func untrustedKey(name: String = "untrusted") throws -> String {
        try Self.generateKeyPair(in: directory, name: name).privateKey
    }

    /// `openssl genpkey` and `openssl pkey -pubout`: a private key (mode 0600) and its public half.
    static func generateKeyPair(in directory: URL, name: String) throws -> (privateKey: String, publicKey: String) {
        let privateKey = directory.appendingPathComponent("\(name).pem").path
        let publicKey = directory.appendingPathComponent("\(name).pub.pem").path
        _ = try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privateKey])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateKey)
        _ = try openssl(["pkey", "-in", privateKey, "-pubout", "-out", publicKey])
        return (privateKey, publicKey)
    }

    /// A compact JWS signed RS256 by `privateKey` with `openssl dgst -sha256 -sign`, whatever the claims say.
    ///
    /// This signs claims the product would never write (wrong audience, too long a lifetime), to test the server.
    /// - Parameters:
    ///   - claims: the claims set; `JSONSerialization` writes it.
    ///   - header: the JOSE header; RS256 unless the test wants to lie about the algorithm.
    ///   - privateKey: the PEM's path.
    static func signJWT(
        claims: [String: Any], header: [String: Any] = ["alg": "RS256", "typ": "JWT"], privateKey: String
    ) throws -> String {
        func encode(_ object: [String: Any]) throws -> String {
            base64URL(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        }
        let signingInput = try encode(header) + "." + encode(claims)
        let signature = try openssl(["dgst", "-sha256", "-sign", privateKey], input: Data(signingInput.utf8))
        return signingInput + "." + base64URL(signature)
    }

    /// base64url without padding (RFC 7515 §2).
    static func base64URL(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// Runs `openssl` and returns its stdout.
    /// - Throws: `Failure` with openssl's stderr when it exits non-zero.
    private static func openssl(_ arguments: [String], input: Data? = nil) throws -> Data {
        guard let path = tool("openssl") else {
            throw OAuthServerFixture.Failure("openssl is not on PATH")
        }
        let run = try Binary.run(executable: path, arguments, stdin: input)
        guard run.status == 0 else {
            throw OAuthServerFixture.Failure(
                "openssl \(arguments.first ?? "") exited with \(run.status): \(run.stderr)")
        }
        return run.output
    }

    /// The first executable called `name` on `PATH`.
    static func tool(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    // MARK: - Talking to the server

    /// What the server verified, oldest first (`GET /seen`).
    func seen() async throws -> [Record] {
        try await records("/seen")
    }

    /// What the server refused, oldest first, with its reasons (`GET /refused`).
    func refused() async throws -> [Record] {
        try await records("/refused")
    }

    private func records(_ path: String) async throws -> [Record] {
        var request = URLRequest(url: baseURL.appendingPathComponent(path), timeoutInterval: 10)
        request.httpMethod = "GET"
        let (body, response) = try await Self.session.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw OAuthServerFixture.Failure("GET \(path) did not answer 200")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode([Record].self, from: body)
    }

    /// POSTs a JWT bearer grant (RFC 7523 §2.1) with `assertion`, as Google's token endpoint receives it.
    func jwtBearer(assertion: String, grantType: String = "urn:ietf:params:oauth:grant-type:jwt-bearer")
        async throws -> Reply
    {
        // application/x-www-form-urlencoded: only RFC 3986 unreserved characters stay as they are.
        let allowed = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let form = [("grant_type", grantType), ("assertion", assertion)]
            .map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
            .joined(separator: "&")
        var request = URLRequest(url: tokenURL, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(form.utf8)
        return try await send(request)
    }

    /// POSTs `/app/installations/ID/access_tokens` with `jwt` as the bearer, as GitHub receives it.
    func installationToken(
        installation: String = AssertionServerFixture.installationID, jwt: String,
        accept: String? = "application/vnd.github+json"
    ) async throws -> Reply {
        let url = baseURL.appendingPathComponent("app/installations/\(installation)/access_tokens")
        var request = URLRequest(url: url, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("Bearer \(jwt)", forHTTPHeaderField: "Authorization")
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        request.setValue("2022-11-28", forHTTPHeaderField: "X-GitHub-Api-Version")
        return try await send(request)
    }

    func send(_ request: URLRequest) async throws -> Reply {
        let (body, response) = try await Self.session.data(for: request)
        guard let http = response as? HTTPURLResponse else {
            throw OAuthServerFixture.Failure("no HTTP response from \(request.url?.path ?? "?")")
        }
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        return Reply(status: http.statusCode, object: object)
    }

    /// Ephemeral: no cookies or cache shared between tests.
    static let session = URLSession(configuration: .ephemeral)
}
