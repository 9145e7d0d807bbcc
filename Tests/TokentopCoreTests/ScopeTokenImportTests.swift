import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A scope in an import file is one OAuth scope token (RFC 6749 §3.3: printable ASCII but the space, `"` and `\`):
/// `["read write"]` would be sent as two scopes, and a quote or a backslash as no scope a provider knows.
@Suite struct ScopeTokenImportTests {
    static let rule = "an OAuth scope is printable ASCII without spaces, \" or \\ (RFC 6749 §3.3)"

    static func file(scopes: String = #"["read"]"#, granted: String = #"["read"]"#) -> String {
        """
        {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/oauth/token",
          "client_id": "fake-client-id", "client_secret": "fake-client-secret-0001", "scopes": \(scopes)}],
         "connections": [{"id": "acme-alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
          "access_token": "fake-access-token-0001", "granted_scopes": \(granted)}]}
        """
    }

    @Test(arguments: [
        (
            file(scopes: #"["read write"]"#),
            "integrations[0] (id \"acme\"): scopes[0]: contains a space, and \(rule); give each scope as an entry "
                + "of its own"
        ),
        (
            file(scopes: #"["read", "a\"b"]"#),
            "integrations[0] (id \"acme\"): scopes[1]: contains a double quote, and \(rule)"
        ),
        (file(scopes: #"["a\\b"]"#), "integrations[0] (id \"acme\"): scopes[0]: contains a backslash, and \(rule)"),
        (
            file(scopes: #"["lecture:données"]"#),
            "integrations[0] (id \"acme\"): scopes[0]: contains the character U+00E9, and \(rule)"
        ),
        (
            file(granted: #"["read", "read write"]"#),
            "connections[0] (id \"acme-alice\"): granted_scopes[1]: contains a space, and \(rule); give each scope "
                + "as an entry of its own"
        ),
    ])
    func aScopeThatIsNoScopeTokenIsRefusedAndNothingIsWritten(text: String, expected: String) throws {
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "t.json") }
        #expect(error.description == "t.json: \(expected)")

        // Through the command's path: nothing reaches a store that already exists, and none is created.
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("t.json")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let existing = directory.file("existing.sqlite3")
        let created = directory.file("created.sqlite3")
        _ = try Store.open(path: existing, secrets: SecretBox(key: StoreFixtures.key))
        for location in [existing, created] {
            #expect {
                try ImportFile.run(
                    path: path, openStore: StoreExportTests.openTarget(location), user: "tester",
                    at: StoreFixtures.epoch)
            } throws: { error in
                "\(error)" == "\(path): \(expected)"
            }
        }
        #expect(!FileManager.default.fileExists(atPath: created))
        let store = try Store.open(path: existing, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try store.integrations().isEmpty && store.connections().isEmpty)
    }

    /// Every printable ASCII character but the three is a scope's: URLs, colons and the rest import as written.
    @Test func everyScopeTokenCharacterImports() throws {
        let odd = "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"
        let scopes = ["https://graph.example.com/.default", "repo:status", odd]
        let json = String(decoding: try JSONEncoder().encode(scopes), as: UTF8.self)
        let bundle = try ImportFile.parse(Data(Self.file(scopes: json, granted: json).utf8), source: "t.json")
        #expect(bundle.integrations.first?.integration.scopes == scopes)
        #expect(bundle.connections.first?.grantedScopes == scopes)
    }
}
