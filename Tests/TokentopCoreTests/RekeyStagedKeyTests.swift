import Foundation
import Synchronization
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A `rekey` stopped after sealing its database under the staged key (`key.new`) and before moving that key onto
/// the key file left the database's only key there: nothing opening a store looked at it, and the next `rekey` of
/// another database sharing the key file deleted it, and that database's secrets with it.
struct RekeyStagedKeyTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A new store at `path`, under the key file of `environment`, holding one integration whose client secret is
    /// `secret`.
    func makeStore(_ path: String, environment: [String: String], secret: String) throws {
        let (store, _) = try Store.open(path: path, environment: environment, create: true, createKey: true)
        let file = """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://acme.example/token",
              "client_id": "c", "client_secret": "\(secret)"}]}
            """
        _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
    }

    @Test func aStagedKeyALostRekeyLeftOpensItsStoreAndTheNextRekeyKeepsIt() throws {
        let directory = try temporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.appendingPathComponent("config").path]
        let paths = ["a", "b"].map { directory.appendingPathComponent("\($0).sqlite3").path }
        for (index, path) in paths.enumerated() {
            try makeStore(path, environment: environment, secret: "fake-secret-000\(index)")
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

    /// Two rekeys of one store at once take turns on the key file's directory: the second finds the store re-keyed
    /// and says so; neither moves the other's new key away, and the audit log stays intact.
    @Test func twoRekeysAtOnceTakeTurns() throws {
        let directory = try temporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.appendingPathComponent("config").path]
        let path = directory.appendingPathComponent("a.sqlite3").path
        try makeStore(path, environment: environment, secret: "fake-secret-0007")
        let keyPath = SecretBox.keyFilePath(environment: environment)
        let outcomes = Mutex<[Result<RekeyOutcome, StoreError>]>([])
        let done = DispatchGroup()
        // Both have opened the store under the old key and wait for the lock this test holds, seen in /proc/locks.
        try KeyFile.whileRekeying(keyPath) {
            for _ in 0..<2 {
                done.enter()
                Thread.detachNewThread {
                    let outcome = Result { try Store.rekey(path: path, environment: environment, user: "ops", at: now) }
                        .mapError { $0 as? StoreError ?? StoreError(.crypto, "\($0)") }
                    outcomes.withLock { $0.append(outcome) }
                    done.leave()
                }
            }
            let deadline = Date().addingTimeInterval(60)
            while Self.lockWaiters(on: Paths.folder(of: keyPath)) < 2, Date() < deadline { usleep(20_000) }
            #expect(Self.lockWaiters(on: Paths.folder(of: keyPath)) == 2, "both rekeys wait for the lock")
        }
        done.wait()
        let results = outcomes.withLock { $0 }
        let refused = results.compactMap { if case .failure(let error) = $0 { error } else { nil } }
        #expect(results.count == 2 && refused.count == 1, "\(results)")
        #expect(refused.first?.code == .keyChanged)
        #expect(refused.first?.message.contains("re-keyed by another process (another rekey)") == true)
        #expect(!FileManager.default.fileExists(atPath: KeyFile.staged(keyPath)))
        let (reopened, note) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        #expect(note == nil, "the key file itself opens it")
        #expect(try reopened.integrationSecret(id: "acme") == Secret("fake-secret-0007"))
        #expect(try reopened.verifyAudit().isIntact)
    }

    /// How many processes' or descriptors' `flock`s on `path` wait, as /proc/locks lists them (`->`).
    static func lockWaiters(on path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else {
            return 0
        }
        return locks.split(separator: "\n").filter { line in
            line.contains("-> FLOCK") && line.split(separator: " ").contains { $0.hasSuffix(":\(info.st_ino)") }
        }.count
    }

    /// A key file that is a link (to a secrets mount, say) stays a link: the new key replaces the file it leads
    /// to, the old key is kept beside that file, and the store opens through the link with the new key.
    @Test func rekeyThroughAKeyFileLinkReplacesTheFileItLeadsTo() throws {
        let directory = try temporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.appendingPathComponent("config").path]
        let keyPath = SecretBox.keyFilePath(environment: environment)
        let mount = directory.appendingPathComponent("secrets").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let target = mount + "/tokentop.key"
        _ = try KeyFile.create(path: target)
        let oldKey = try #require(try KeyFile.read(path: target))
        try FileManager.default.createDirectory(atPath: Paths.folder(of: keyPath), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: keyPath, withDestinationPath: target)
        let paths = ["a", "b"].map { directory.appendingPathComponent("\($0).sqlite3").path }
        for (index, path) in paths.enumerated() {
            try makeStore(path, environment: environment, secret: "fake-secret-000\(index)")
        }

        let outcome = try Store.rekey(path: paths[0], environment: environment, user: "ops", at: now)
        #expect(outcome.keyLocation.hasPrefix("key file \(target) "))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: keyPath) == target)
        let newKey = try #require(try KeyFile.read(path: target))
        #expect(newKey != oldKey)
        let kept = KeyFile.retained(besides: target)
        #expect(kept.count == 1 && kept.allSatisfy { $0.hasPrefix(target + ".replaced-") })
        #expect(try kept.map { try KeyFile.read(path: $0) } == [oldKey])
        #expect(KeyFile.retained(besides: keyPath).isEmpty, "nothing was left beside the link")
        let (first, note) = try Store.open(path: paths[0], environment: environment, create: false, createKey: false)
        #expect(note == nil)
        #expect(try first.integrationSecret(id: "acme") == Secret("fake-secret-0000"))
        // The other store, still under the old key, opens with the key kept beside the file.
        let (second, kept2) = try Store.open(path: paths[1], environment: environment, create: false, createKey: false)
        #expect(try second.integrationSecret(id: "acme") == Secret("fake-secret-0001"))
        #expect(kept2?.contains("kept in \(target).replaced-") == true, "\(kept2 ?? "")")
    }

    @Test func aKeyFileThatIsADanglingLinkIsNamedAndNoStoreIsLeft() throws {
        let directory = try temporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.appendingPathComponent("config").path]
        let keyPath = SecretBox.keyFilePath(environment: environment)
        try FileManager.default.createDirectory(
            atPath: Paths.folder(of: keyPath), withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("elsewhere/key").path
        try FileManager.default.createSymbolicLink(atPath: keyPath, withDestinationPath: target)
        let path = directory.appendingPathComponent("new.sqlite3").path
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: path, environment: environment, create: true, createKey: true)
        }
        #expect(error.code == .badKey)
        #expect(
            error.message
                == "the key file \(keyPath) is a symbolic link to \(target), which leads to no file; point it at the "
                + "key file, or remove it to have a new key made there")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: target), "nothing was written through the link")

        // The key file's directory a link that leads nowhere: named the same way, and no store left.
        try FileManager.default.removeItem(atPath: Paths.folder(of: keyPath))
        let missing = directory.appendingPathComponent("missing-directory").path
        try FileManager.default.createSymbolicLink(atPath: Paths.folder(of: keyPath), withDestinationPath: missing)
        let folder = try #require(throws: StoreError.self) {
            try Store.open(path: path, environment: environment, create: true, createKey: true)
        }
        #expect(
            folder.message
                == "the key file's directory \(Paths.folder(of: keyPath)) is a symbolic link to \(missing), which "
                + "leads to no directory; point it at one, or remove it to have one made there")
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
