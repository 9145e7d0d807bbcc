import Foundation
import Testing

@testable import TokentopCore

/// Integrations that hold a private key instead of a client secret, and the grants that mint tokens with it.
struct PrivateKeyImportTests {
    func file(integration: String, connection: String = "") -> Data {
        Data(
            """
            {"integrations": [{"id": "svc", "provider": "google", "token_url": "https://oauth2.example/token",
              "client_id": "svc@fake-project.iam.example", \(integration)}],
             "connections": [\(connection)]}
            """.utf8)
    }

    func json(_ text: String) -> String {
        String(
            decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self
        )
        .dropFirst().dropLast().description
    }

    @Test func aKeyIntegrationAndAJWTBearerConnectionImport() throws {
        let pem = TestKey.shared(.rsa2048).privatePEM(.pkcs8)
        let bundle = try ImportFile.parse(
            file(
                integration: #""scopes": ["admin.directory.user.readonly"], "private_key": "# + json(pem),
                connection: #"{"id": "svc-alice", "integration": "svc", "scope": "delegated", "#
                    + #""subject": "alice@example.com", "grant": "jwt_bearer"}"#),
            source: "keys.json")
        let integration = try #require(bundle.integrations.first?.integration)
        #expect(integration.secretKind == .privateKey)
        #expect(integration.clientAuth == ClientAuthMethod.none)
        #expect(integration.secretFingerprint?.hasPrefix("sha256:") == true)
        let connection = try #require(bundle.connections.first)
        #expect(connection.grant == .jwtBearer)
        #expect(connection.accessToken == nil)

        let directory = try temporaryDirectory()
        let store = try Store.open(path: directory.appendingPathComponent("k.sqlite3").path, secrets: .ephemeral())
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try store.importBundle(bundle, at: now)
        let stored = try #require(try store.connection(id: "svc-alice"))
        #expect(stored.status(at: now, policy: .standard) == .expiring, "no token yet: a refresh is due")
        #expect(RefreshPolicy.standard.dueAt(stored) == now)
        #expect(try store.integrations().first?.secretKind == Integration.SecretKind.privateKey)
        #expect(try store.integrationSecret(id: "svc")?.value == pem)
    }

    @Test(arguments: [
        (
            #""private_key": ""#
                + "\(armor)BEGIN PRIVATE KEY\(armor)\\nnot base64\\n\(armor)END PRIVATE KEY\(armor)\\n\"",
            "private_key"
        ),
        (#""private_key_file": "/nonexistent/key.pem""#, "private_key_file: cannot read the key file"),
        (#""private_key": "x", "private_key_file": "k.pem""#, "give private_key or private_key_file, not both"),
    ])
    func badKeysAreNamed(integration: String, message: String) {
        #expect {
            _ = try ImportFile.parse(file(integration: integration), source: "keys.json")
        } throws: { error in
            "\(error)".contains("keys.json: integrations[0] (id \"svc\"):") && "\(error)".contains(message)
        }
    }

    /// A key authenticates the client by signing (private_key_jwt): a secret method would send the key itself as
    /// the client secret, and private_key_jwt without a key has nothing to sign with.
    @Test func clientAuthMustSuitTheSecretKind() throws {
        let pem = json(TestKey.shared(.p256).privatePEM(.pkcs8))
        let signed = try ImportFile.parse(
            file(integration: #""client_auth": "private_key_jwt", "private_key": "# + pem), source: "keys.json")
        #expect(signed.integrations.first?.integration.clientAuth == .privateKeyJWT)
        for method in ["client_secret_basic", "client_secret_post"] {
            let error = try #require(throws: ImportError.self) {
                try ImportFile.parse(
                    file(integration: #""client_auth": "\#(method)", "private_key": "# + pem), source: "keys.json")
            }
            #expect(
                error.description
                    == "keys.json: integrations[0] (id \"svc\"): client_auth: \(method) would send the private key "
                    + "itself to the provider as a client secret; a key authenticates by signing: use "
                    + "\"private_key_jwt\", or \"none\" when the grant's own assertion proves the client (jwt_bearer)")
        }
        let keyless = try #require(throws: ImportError.self) {
            try ImportFile.parse(
                file(integration: #""client_auth": "private_key_jwt", "client_secret": "fake-secret-0008""#),
                source: "keys.json")
        }
        #expect(keyless.description.hasSuffix("client_auth: private_key_jwt signs with the integration's private key; "
            + "give it in private_key_file (or private_key), not a client_secret"))
    }

    @Test func staticCredentialsTakeNoGrant() {
        #expect {
            _ = try ImportFile.parse(
                file(
                    integration: #""client_secret": "fake-secret""#,
                    connection: #"{"integration": "svc", "scope": "org", "subject": "org:x", "credential": "api_key", "#
                        + #""grant": "client_credentials", "access_token": "fake-key"}"#),
                source: "keys.json")
        } throws: { error in
            "\(error)".contains("grant: api_key credentials are static; their grant is none")
        }
    }
}

/// The dashes of PEM armour, kept apart so that no line of this file looks like a committed key.
private let armor = String(repeating: "-", count: 5)
