import Foundation
import Testing
import TokentopTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Tests/Interop/authlib/server.py, started on 127.0.0.1 with a key pair of its own: Authlib's RFC 7523 JWT bearer
/// grant, in the shape of Google's domain-wide delegation, verifying assertions with the service account's public key;
/// and a second client, with a key pair of its own, that takes client credentials with private_key_jwt.
///
/// The venv comes from `scripts/authlib-venv` (scripts/test runs it first; the fixture runs it when the venv is
/// missing). Dropping the fixture kills the server with SIGKILL and removes its folder.
final class AuthlibServerFixture {
    static let serviceAccount = "svc-authlib@fake-project.iam.example"
    /// The users of the domain the service account may impersonate.
    static let users = ["alice@example.com", "bob@example.com"]
    /// The scopes granted to the service account.
    static let scopes = ["https://www.googleapis.com/auth/drive.readonly", "email"]

    /// One token the server issued.
    struct Issued: Decodable, Sendable, Equatable {
        let sub: String
        let scope: String
        let iss: String
    }

    /// One refusal: the OAuth error and its description.
    struct Refusal: Decodable, Sendable, Equatable {
        let error: String
        let errorDescription: String?
    }

    /// The client that takes client credentials and authenticates with private_key_jwt only.
    static let keyClient = "fake-key-client-0001"

    let directory: URL
    /// The service account's private key (PEM, mode 0600); the server has its public half.
    let privateKeyPath: String
    /// The key client's private key (PEM, mode 0600); the server has its public half.
    let keyClientKeyPath: String
    let port: Int
    private let process: Child

    /// `http://127.0.0.1:PORT/token`: the token endpoint, and the `aud` its assertions must name.
    var tokenURL: URL { URL(string: "http://127.0.0.1:\(port)/token")! }
    var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }

    /// Builds the venv if needed, generates a key pair and starts the server.
    ///
    /// A missing venv or `openssl` cancels the test locally and fails it under `CI=true`; a server that is there but
    /// does not start is always a failure.
    static func start() async throws -> AuthlibServerFixture {
        let python = try interpreter()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tokentop-authlib-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            let keys = try AssertionServerFixture.generateKeyPair(in: directory, name: "service-account")
            let clientKeys = try AssertionServerFixture.generateKeyPair(in: directory, name: "key-client")
            return try await AuthlibServerFixture(
                python: python, directory: directory, privateKey: keys.privateKey, publicKey: keys.publicKey,
                clientKeys: clientKeys)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private init(
        python: String, directory: URL, privateKey: String, publicKey: String,
        clientKeys: (privateKey: String, publicKey: String)
    ) async throws {
        self.directory = directory
        privateKeyPath = privateKey
        keyClientKeyPath = clientKeys.privateKey
        let arguments =
            ["--issuer", Self.serviceAccount]
            + Self.scopes.flatMap { ["--scope", $0] } + Self.users.flatMap { ["--user", $0] }
            + ["--key-client", Self.keyClient, "--key-client-key", clientKeys.publicKey]
            + ["--watch-pid", String(ProcessInfo.processInfo.processIdentifier), publicKey]
        (process, port) = try await ServerLaunch.startPython(
            python, script: "Tests/Interop/authlib/server.py", arguments: arguments, directory: directory)
    }

    deinit {
        // SIGKILL: gone at once, before the test removes its files.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The venv's python: `TOKENTOP_AUTHLIB_PYTHON`, else what `scripts/authlib-venv` builds or finds.
    private static func interpreter() throws -> String {
        guard AssertionServerFixture.tool("openssl") != nil else {
            try unavailable("openssl is not on PATH; it generates the test keys (apt-get install openssl)")
        }
        if let given = ProcessInfo.processInfo.environment["TOKENTOP_AUTHLIB_PYTHON"], !given.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: given) else {
                throw OAuthServerFixture.Failure("TOKENTOP_AUTHLIB_PYTHON names \(given), which is not executable")
            }
            return given
        }
        let script = OAuthServerFixture.packageRoot.appendingPathComponent("scripts/authlib-venv").path
        let run = try Binary.run(executable: script, [])
        let python = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard run.status == 0, FileManager.default.isExecutableFile(atPath: python) else {
            try unavailable("scripts/authlib-venv exited with \(run.status): \(run.stderr.suffix(2000))")
        }
        return python
    }

    /// A failure under `CI=true`, where a missing server must not pass silently; a skip elsewhere.
    private static func unavailable(_ why: String) throws -> Never {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            throw OAuthServerFixture.Failure("the Authlib server cannot start under CI=true: \(why)")
        }
        try Test.cancel("the Authlib server cannot start: \(why)")
    }

    // MARK: - Talking to the server

    /// The tokens the server issued, oldest first.
    func issued() async throws -> [Issued] { try await list("/seen") }

    /// The requests the server refused, oldest first.
    func refusals() async throws -> [Refusal] { try await list("/refused") }

    /// POSTs a JWT bearer grant with `assertion`, and `extra` form fields, as Google's token endpoint receives it.
    func post(assertion: String, extra: [(String, String)] = []) async throws -> AssertionServerFixture.Reply {
        let allowed = CharacterSet(
            charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        let form = ([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)] + extra)
            .map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
            .joined(separator: "&")
        var request = URLRequest(url: tokenURL, timeoutInterval: 10)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(form.utf8)
        let (body, response) = try await AssertionServerFixture.session.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        return AssertionServerFixture.Reply(status: (response as? HTTPURLResponse)?.statusCode ?? 0, object: object)
    }

    private func list<T: Decodable>(_ path: String) async throws -> [T] {
        let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
        let (body, response) = try await AssertionServerFixture.session.data(from: url)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw OAuthServerFixture.Failure("GET \(path) did not answer 200")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode([T].self, from: body)
    }
}
