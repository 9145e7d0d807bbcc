import Foundation
import Testing

@testable import TokentopCore

/// Reading never creates a key: without one, a store that holds no secret still reads, one that holds any is
/// refused with the places the key was looked for, and only a command that writes secrets creates the key file,
/// for a store that holds no secret yet.
@Suite struct MissingKeyTests {
    /// An environment with no `TOKENTOP_KEY` and a configuration directory inside `directory`.
    static func environment(_ directory: StoreTemporaryDirectory) -> [String: String] {
        ["XDG_CONFIG_HOME": directory.file("config"), "HOME": directory.path, "TOKENTOP_KEY": ""]
    }

    static func keyFile(_ directory: StoreTemporaryDirectory) -> String { directory.file("config/tokentop/key") }

    static func message(_ database: String, _ directory: StoreTemporaryDirectory) -> String {
        "no key to open the secrets of \(database): TOKENTOP_KEY is unset or empty and there is no key file at "
            + "\(keyFile(directory)); set TOKENTOP_KEY to the key the store was created with, or put its key file "
            + "back (mode 0600); nothing was created"
    }

    /// The names in the store's `meta` table.
    static func meta(_ store: Store) throws -> [String] {
        try store.database.query("SELECT name FROM meta ORDER BY name") { $0.string(0) ?? "" }
    }

    @Test func aBoxLoadedWithoutCreatingHasNoKeyAndSealsNothing() throws {
        let directory = try StoreTemporaryDirectory()
        let box = try SecretBox.load(environment: Self.environment(directory), createKey: false)
        #expect(!box.hasKey)
        #expect(box.keySource == "no key")
        let error = try #require(throws: StoreError.self) {
            try box.seal(Secret("fake-access-token-0001"), context: "connections/a/access_token")
        }
        #expect(error.code == .badKey)
        #expect(error.path == Self.keyFile(directory))
        #expect(error.message.hasPrefix("no key to open connections/a/access_token: TOKENTOP_KEY is unset or empty and "))
        #expect(!FileManager.default.fileExists(atPath: directory.file("config")))
    }

    @Test func aStoreWithoutSecretsReadsWithoutAKeyAndStaysUnbound() throws {
        let directory = try StoreTemporaryDirectory()
        let database = directory.file("tokentop.sqlite3")
        _ = try Store.migrate(path: database)
        let (store, note) = try Store.open(
            path: database, environment: Self.environment(directory), create: false, createKey: false)
        #expect(note == nil)
        #expect(!store.secrets.hasKey)
        #expect(try store.connectionList().list.count == 0)
        #expect(try store.verifyAudit().isIntact)
        #expect(try Self.meta(store) == [], "no key check: the first key to come binds the store")
        #expect(!FileManager.default.fileExists(atPath: directory.file("config")))
        // Nothing to re-encrypt and nothing to export without a key: refused, and still nothing created.
        let rekey = try #require(throws: StoreError.self) {
            try Store.rekey(path: database, environment: Self.environment(directory), user: "op", at: Date())
        }
        #expect(rekey.message.contains("holds no secret yet and no key exists"))
        let export = try #require(throws: StoreError.self) {
            try StoreExport.run(store: store, to: directory.file("export.json"), user: "op", at: Date())
        }
        #expect(export.message.hasPrefix("cannot export \(database): no key exists yet"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("export.json")))
        #expect(try store.auditLog().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.file("config")))
    }

    @Test(arguments: StoreEngine.available, [false, true])
    func aStoreWithSecretsAndNoKeyIsRefusedAndNoKeyIsMade(engine: StoreEngine, createKey: Bool) throws {
        let directory = try StoreTemporaryDirectory(engine)
        _ = try StoreFixtures.store(in: directory)
        let location = try directory.location("tokentop")
        let database = Store.displayName(location)
        let error = try #require(throws: StoreError.self) {
            try Store.open(
                path: location, environment: Self.environment(directory), create: createKey, createKey: createKey)
        }
        #expect(error.code == .badKey)
        #expect(error.path == database)
        #expect(error.message == Self.message(database, directory))
        #expect(!FileManager.default.fileExists(atPath: directory.file("config")))
    }

    @Test func aStoreThatHoldsOnlyAKeyCheckStillNeedsItsKey() throws {
        let directory = try StoreTemporaryDirectory()
        let database = directory.file("tokentop.sqlite3")
        // Opened once with a key and nothing imported: bound to that key, though it holds no secret.
        _ = try Store.open(path: database, secrets: SecretBox(key: StoreFixtures.key))
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: database, environment: Self.environment(directory), create: false, createKey: false)
        }
        #expect(error.message == Self.message(database, directory))
    }

    @Test func aCommandThatWritesSecretsCreatesTheKeyForAStoreWithoutSecrets() throws {
        let directory = try StoreTemporaryDirectory()
        let database = directory.file("new/tokentop.sqlite3")
        let (store, _) = try Store.open(
            path: database, environment: Self.environment(directory), create: true, createKey: true)
        #expect(store.secrets.keySource == "key file \(Self.keyFile(directory))")
        #expect(StoreFixtures.mode(Self.keyFile(directory)) == 0o600)
        #expect(try Self.meta(store) == ["audit_anchor", "key_check"])
        _ = try store.importBundle(
            ImportBundle(
                source: "fixture.json", integrations: [StoreFixtures.integration()],
                connections: [StoreFixtures.connection()]),
            at: StoreFixtures.epoch)
        // The next reading command finds that key and opens every secret with it.
        let (again, _) = try Store.open(
            path: database, environment: Self.environment(directory), create: false, createKey: false)
        #expect(try again.tokenSecrets(connectionID: "acme-alice").refresh == Secret("fake-refresh-token-0001"))
    }
}
