import Foundation
import Testing

/// Ids that look the same but are spelled differently in Unicode (`é`, or `e` and a combining U+0301): the store
/// compares bytes and Swift compares canonically, so tokentop keeps every id composed (NFC), refuses a file that
/// spells one decomposed, and composes an id typed on the command line before it looks it up.
struct UnicodeIdCommandTests {
    static let composed = "caf\u{E9}"
    static let decomposed = "cafe\u{301}"

    /// An import file with one API key called `id`, under an integration `acme`.
    static func file(id: String) -> String {
        """
        {"integrations": [{"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
          "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
         "connections": [{"id": "\(id)", "integration": "acme", "scope": "org", "subject": "org:cafe",
          "credential": "api_key", "access_token": "fake-api-key-0001"}]}
        """
    }

    @Test func anImportSpellingAnIdDecomposedIsRefusedNamingTheEntryAndField() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("nfd.json", Self.file(id: Self.decomposed))
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains("nfd.json: connections[0] (id "), "\(run.stderr)")
        #expect(run.stderr.contains("id: \"\(Self.decomposed)\" is not in Unicode's composed form (NFC)"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    /// `show` and `revoke` given the decomposed spelling act on the composed connection: its history, its row.
    @Test func anIdTypedDecomposedNamesTheComposedConnection() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("nfc.json", Self.file(id: Self.composed))
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let show = try Binary.run(["show", Self.decomposed, "--json"], environment: sandbox.environment)
        #expect(show.status == 0, "\(show.stderr)")
        let detail = try #require(try JSONSerialization.jsonObject(with: show.output) as? [String: Any])
        let history = try #require(detail["history"] as? [[String: Any]])
        #expect(history.contains { $0["kind"] as? String == "imported" }, "\(show.stdout)")

        let revoke = try Binary.run(["revoke", Self.decomposed], environment: sandbox.environment)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let rows = try #require(try JSONSerialization.jsonObject(with: list.output) as? [[String: Any]])
        #expect(rows.count == 1)
        let id = try #require(rows.first?["id"] as? String)
        #expect(Array(id.utf8) == Array(Self.composed.utf8))
        #expect(rows.first?["status"] as? String == "revoked")
    }
}
