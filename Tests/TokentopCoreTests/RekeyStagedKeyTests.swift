import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A `rekey` stopped after sealing its database under the staged key (`key.new`) and before moving that key onto
/// the key file left the database's only key there: nothing opening a store looked at it, and the next `rekey` of
/// another database sharing the key file deleted it, and that database's secrets with it.
struct RekeyStagedKeyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aStagedKeyALostRekeyLeftOpensItsStoreAndTheNextRekeyKeepsIt() throws {
        let directory = try temporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.appendingPathComponent("config").path]
        let paths = ["a", "b"].map { directory.appendingPathComponent("\($0).sqlite3").path }
        for (index, path) in paths.enumerated() {
            let (store, _) = try Store.open(path: path, environment: environment, create: true, createKey: true)
            let file = """
                {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://acme.example/token",
                  "client_id": "c", "client_secret": "fake-secret-000\(index)"}]}
                """
            _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
        }
        // What the stopped rekey of a.sqlite3 did: stage a new key and seal the database under it, and no more.
        let keyPath = SecretBox.keyFilePath(environment: environment)
        let staged = KeyFile.staged(keyPath)
        _ = try KeyFile.create(path: staged)
        let stagedKey = try #require(try KeyFile.read(path: staged))
        let (first, _) = try Store.open(path: paths[0], environment: environment, create: false, createKey: false)
        _ = try first.rekey(to: SecretBox(key: stagedKey, source: "key file \(staged)"))

        let (reopened, note) = try Store.open(path: paths[0], environment: environment, create: false, createKey: false)
        #expect(try reopened.integrationSecret(id: "acme") == Secret("fake-secret-0000"))
        #expect(
            note == "\(paths[0]) is sealed with the key in \(staged), which a rekey that stopped before its last step "
                + "did not move to \(keyPath); run `tokentop rekey --db \(paths[0])` to move it to a key of its own")

        // Another database's rekey keeps the staged key (as a kept earlier key) instead of deleting it.
        _ = try Store.rekey(path: paths[1], environment: environment, user: "ops", at: now)
        #expect(!FileManager.default.fileExists(atPath: staged))
        let (afterwards, kept) = try Store.open(
            path: paths[0], environment: environment, create: false, createKey: false)
        #expect(try afterwards.integrationSecret(id: "acme") == Secret("fake-secret-0000"))
        #expect(kept?.contains("is sealed with an earlier key, kept in \(keyPath).replaced-") == true, "\(kept ?? "")")
        let (second, _) = try Store.open(path: paths[1], environment: environment, create: false, createKey: false)
        #expect(try second.integrationSecret(id: "acme") == Secret("fake-secret-0001"))
    }
}
