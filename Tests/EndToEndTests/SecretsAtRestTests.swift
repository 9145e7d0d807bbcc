import Foundation
import Testing

/// Issue 4 item 1 in one place: no token or secret, nor its base64, appears in anything tokentop leaves behind on
/// SQLite — the database, its write-ahead log, the daemon's log, the dashboard's screen, `list --json`,
/// `show --json` or `export` — while the dashboard and the daemon refresh a token at a real server.
@Suite(.serialized)
struct SecretsAtRestTests {
    /// Every way a secret could appear: the text, and its base64 and base64url (with and without padding).
    static func forms(of secret: String) -> [String] {
        let base64 = Data(secret.utf8).base64EncodedString()
        let url = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let unpadded = url.replacingOccurrences(of: "=", with: "")
        // In this order, each once: the plain text first, so that `leak` names what it found truly.
        var forms: [String] = []
        for form in [secret, base64, url, unpadded] where !forms.contains(form) { forms.append(form) }
        return forms
    }

    /// The first `form` of any `secrets` found in `bytes`, named by the secret's label.
    static func leak(in bytes: Data, of secrets: [(label: String, value: String)]) -> String? {
        for (label, value) in secrets {
            for form in forms(of: value) where bytes.range(of: Data(form.utf8)) != nil {
                return form == value ? label : "\(label) (as base64)"
            }
        }
        return nil
    }

    /// A fresh RSA key in PEM, made by openssl at run time: no key material or armour line in the source.
    static func privateKeyPEM(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("signer.pem").path
        let made = try Binary.run(
            executable: "/usr/bin/env",
            ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path])
        guard made.status == 0 else { throw OAuthServerFixture.Failure("openssl genpkey failed: \(made.stderr)") }
        let pem = try String(contentsOfFile: path, encoding: .utf8)
        try FileManager.default.removeItem(atPath: path)
        return pem
    }

    static func json(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func noSecretAppearsInTheDatabaseWALLogScreenOrOutput() async throws {
        let server = try await OAuthServerFixture.shared()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let environment = sandbox.environment.merging(["TOKENTOP_KEY": DatabaseFaultTests.newKey()]) { $1 }
        let database = sandbox.database
        let run = UUID().uuidString.prefix(8).lowercased()

        // A real token pair from django-oauth-toolkit, expired in the import so that it is renewed at once.
        let issued = try await server.passwordGrant(client: server.basicClient)
        let pem = try Self.privateKeyPEM(in: sandbox.root)
        var secrets: [(label: String, value: String)] = [
            ("the DOT access token", issued.access), ("the DOT refresh token", issued.refresh),
            ("the DOT client secret", server.basicClient.secret),
            ("the acme client secret", "fake-client-secret-\(run)"),
            ("the acme access token", "fake-access-token-\(run)"),
            ("the acme refresh token", "fake-refresh-token-\(run)"),
            ("the API key", "fake-api-key-\(run)"),
            ("the private key", pem),
        ]
        // Each line of the key's body, and the body whole: a PEM is leaked by any part of it.
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.map(String.init)
        secrets += body.enumerated().map { ("line \($0.offset + 1) of the private key", $0.element) }
        secrets.append(("the private key's body", body.joined()))

        let importFile: [String: Any] = [
            "integrations": [
                [
                    "id": "dot", "provider": "dot", "token_url": server.tokenURL.absoluteString,
                    "revocation_url": server.revokeURL.absoluteString, "client_id": server.basicClient.id,
                    "client_secret": server.basicClient.secret, "client_auth": "client_secret_basic",
                ],
                [
                    "id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
                    "client_id": "fake-client", "client_secret": "fake-client-secret-\(run)",
                ],
                [
                    "id": "signer", "provider": "signer", "token_url": "http://127.0.0.1:9/token",
                    "client_id": "signer@example.com", "private_key": pem,
                ],
            ],
            "connections": [
                [
                    "id": "dot-alice", "integration": "dot", "scope": "user", "subject": server.username,
                    "access_token": issued.access, "refresh_token": issued.refresh,
                    "expires_at": "2020-01-01T00:00:00Z",
                ],
                [
                    "id": "acme-bob", "integration": "acme", "scope": "user", "subject": "bob@example.com",
                    "access_token": "fake-access-token-\(run)", "refresh_token": "fake-refresh-token-\(run)",
                    "expires_at": CommandLineTests.farFuture,
                ],
                [
                    "id": "acme-key", "integration": "acme", "scope": "org", "subject": "org:acme",
                    "credential": "api_key", "access_token": "fake-api-key-\(run)",
                ],
            ],
        ]
        let file = try sandbox.write("import.json", try Self.json(importFile))
        let imported = try Binary.run(["import", file], environment: environment)
        try #require(imported.status == 0, "\(imported.stderr)")
        try FileManager.default.removeItem(atPath: file)

        // The daemon logs to a file; the dashboard runs in a terminal. One of them renews dot-alice at the server.
        let log = sandbox.root.appendingPathComponent("daemon.log").path
        let daemon = try Binary.start(["daemon", "--log", log], environment: environment)
        defer { daemon.kill() }
        let tmux = try Tmux(width: 160, height: 30, environment: environment, directory: sandbox.root)
        try tmux.send("\(Binary.path)", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("dot-alice") }
        try #require(screen.contains("dot-alice"), "no dashboard:\n\(screen)")

        var alice: [String: Any] = [:]
        try await DaemonOperationsTests.waitFor(30, "dot-alice renewed at the server") {
            let rows = try DatabaseFaultTests.list(database, environment: environment)
            alice = rows.first { $0["id"] as? String == "dot-alice" } ?? [:]
            return alice["last_refresh_at"] is String
        }
        #expect(alice["status"] as? String == "healthy", "\(alice)")
        #expect(alice["failures"] as? Int == 0)
        // The server's rotated pair, read from its own database: those must not leak either.
        let dot = server.runDirectory + "/dot.sqlite3"
        let rotated = try DatabaseFaultTests.sqlite(
            dot,
            "SELECT a.token || ' ' || r.token FROM oauth2_provider_accesstoken a "
                + "JOIN oauth2_provider_refreshtoken s ON a.source_refresh_token_id = s.id "
                + "JOIN oauth2_provider_refreshtoken r ON r.access_token_id = a.id "
                + "WHERE s.token = '\(issued.refresh)'"
        ).split(separator: " ").map(String.init)
        try #require(rotated.count == 2, "no rotated pair in the server's database")
        secrets += [("the rotated access token", rotated[0]), ("the rotated refresh token", rotated[1])]

        // The screen, on the list and on the details of the renewed connection and of the static key.
        var screens = [screen]
        try tmux.send("/")
        try tmux.send("dot-alice", literal: true)
        try tmux.send("Enter")
        _ = try await tmux.wait { !$0.contains("acme-key") }
        // Down from the group header to the row, then its details: the tokens' fingerprints, never the tokens.
        try tmux.send("j")
        try tmux.send("Enter")
        screen = try await tmux.wait { $0.contains("access token") && $0.contains("fingerprint") }
        #expect(screen.contains("refresh token") && screen.contains("fingerprint"), "no details:\n\(screen)")
        screens.append(screen)
        try tmux.send("Escape")
        try tmux.send("Escape")
        try tmux.send("/")
        try tmux.send("acme-key", literal: true)
        try tmux.send("Enter")
        _ = try await tmux.wait { !$0.contains("dot-alice") }
        try tmux.send("j")
        try tmux.send("Enter")
        screen = try await tmux.wait { $0.contains("access token") && $0.contains("acme-key") }
        #expect(screen.contains("credential") && screen.contains("api_key"), "no details:\n\(screen)")
        screens.append(screen)

        // The files while both processes still hold the database open: the write-ahead log is there.
        let wal = try Data(contentsOf: URL(fileURLWithPath: database + "-wal"))
        let main = try Data(contentsOf: URL(fileURLWithPath: database))
        #expect(wal.count > 0, "no write-ahead log while the dashboard runs")
        #expect(main.range(of: Data("dot-alice".utf8)) != nil, "the database does not hold the rows read")

        let list = try Binary.run(["list", "--json"], environment: environment)
        let shows = try ["dot-alice", "acme-bob", "acme-key"].map {
            try Binary.run(["show", $0, "--json"], environment: environment)
        }
        let export = try Binary.run(["export", "-"], environment: environment)
        #expect(list.status == 0 && export.status == 0 && shows.allSatisfy { $0.status == 0 })
        #expect(export.stdout.contains("signer@example.com"), "the export holds the integrations")

        try tmux.send("Escape")
        try tmux.send("Escape")
        try tmux.send("q")
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        let logged = try Data(contentsOf: URL(fileURLWithPath: log))
        #expect(String(decoding: logged, as: UTF8.self).contains("\"msg\":\"daemon started\""))

        var artifacts: [(String, Data)] = [
            ("the database", main), ("the write-ahead log", wal), ("the daemon's log", logged),
            ("list --json", list.output), ("export", export.output),
        ]
        artifacts += screens.enumerated().map { ("tmux screen \($0.offset + 1)", Data($0.element.utf8)) }
        artifacts += shows.enumerated().map { ("show --json \($0.offset + 1)", $0.element.output) }
        // The database and log once more, after both processes closed them (the log checkpointed into the file).
        artifacts.append(("the database after close", try Data(contentsOf: URL(fileURLWithPath: database))))
        // The scan finds what is there: an id that is stored and shown in plain text, in each form it checks.
        #expect(Self.leak(in: main, of: [("an id", "dot-alice")]) == "an id")
        let encoded = Data("x-\(run)".utf8).base64EncodedString()
        #expect(Self.leak(in: Data(encoded.utf8), of: [("a", "x-\(run)")]) == "a (as base64)")
        for (name, bytes) in artifacts {
            #expect(!bytes.isEmpty, "\(name) is empty")
            let found = Self.leak(in: bytes, of: secrets)
            #expect(found == nil, "\(found ?? "") appears in \(name)")
        }
        print("secrets-at-rest: \(secrets.count) secrets × \(artifacts.count) artifacts, none found")
    }
}
