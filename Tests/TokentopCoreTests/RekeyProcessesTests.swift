
import Foundation
import Testing
@testable import TokentopCore
import TokentopTestSupport

/// `rekey` refuses while a refresher uses the store, judged by its heartbeat: a refresher that was killed on this
/// host is not counted, and one it cannot check is named with when its entry expires.
struct RekeyProcessesTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A store holding one sealed secret, under a key in the environment, and that environment with a new key.
    func store(in directory: URL) throws -> (path: String, environment: [String: String]) {
        let path = directory.appendingPathComponent("t.sqlite3").path
        var environment = [
            "TOKENTOP_KEY": Data(repeating: 7, count: 32).base64EncodedString(),
            "XDG_CONFIG_HOME": directory.appendingPathComponent("config").path,
        ]
        let (store, _) = try Store.open(path: path, environment: environment, create: true, createKey: true)
        let file = """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://acme.example/token",
              "client_id": "c", "client_secret": "fake-secret-0005"}]}
            """
        _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
        environment[Store.newKeyVariable] = Data(repeating: 9, count: 32).base64EncodedString()
        return (path, environment)
    }

    /// A process that opened the store before another one's rekey writes no audit entry under its old key (its
    /// anchor would fail every later `audit --verify` as altered), and a second rekey started beside the first
    /// says that the key changed instead of failing to decrypt.
    @Test func aProcessOpenedBeforeAnotherRekeyLeavesTheAuditLogIntact() throws {
        let directory = try temporaryDirectory()
        let (path, environment) = try store(in: directory)
        let (stale, _) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        _ = try Store.rekey(path: path, environment: environment, user: "op", at: now)

        let append = try #require(throws: StoreError.self) {
            try stale.appendAudit(
                action: .revoke, target: "acme-1", outcome: "ok", detail: "revoked", user: "op", at: now)
        }
        #expect(append.code == .keyChanged)
        #expect(append.message.contains("was re-keyed by another process"))
        let again = try #require(throws: StoreError.self) {
            try stale.rekey(to: SecretBox(key: [UInt8](repeating: 11, count: 32), source: "test"))
        }
        #expect(again.code == .keyChanged)

        var current = environment
        current["TOKENTOP_KEY"] = environment[Store.newKeyVariable]
        let (store, _) = try Store.open(path: path, environment: current, create: false, createKey: false)
        let verification = try store.verifyAudit()
        #expect(verification.isIntact, "\(verification)")
        #expect(try store.auditLog().map(\.action) == [.rekey], "only the rekey that happened")
    }

    /// The rekey's audit entry is written in the transaction that re-encrypts, sealed under the new key: a rekey
    /// stopped after it (before the key file's rename) left the store re-keyed and no entry saying so.
    @Test func theRekeysAuditEntryIsWrittenWithTheReEncryption() throws {
        let directory = try temporaryDirectory()
        let (path, environment) = try store(in: directory)
        let (store, _) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        let newBox = SecretBox(key: [UInt8](repeating: 9, count: 32), source: "test")
        let count = try store.rekey(to: newBox, audit: Store.RekeyAudit(user: "op", at: now) { "\($0) re-encrypted" })
        #expect(count == 1)
        let entries = try store.auditLog()
        #expect(entries.map(\.action) == [.rekey] && entries.first?.outcome == "ok")
        #expect(entries.first?.detail == "1 re-encrypted")
        #expect(try store.verifyAudit().isIntact)
        var current = environment
        current["TOKENTOP_KEY"] = environment[Store.newKeyVariable]
        let (reopened, _) = try Store.open(path: path, environment: current, create: false, createKey: false)
        #expect(try reopened.verifyAudit().isIntact, "the anchor is sealed under the new key")
        // A whole rekey writes that one entry, not a second after it.
        current[Store.newKeyVariable] = Data(repeating: 5, count: 32).base64EncodedString()
        _ = try Store.rekey(path: path, environment: current, user: "op", at: now.addingTimeInterval(1))
        current["TOKENTOP_KEY"] = current[Store.newKeyVariable]
        let (again, _) = try Store.open(path: path, environment: current, create: false, createKey: false)
        #expect(try again.auditLog().map(\.outcome) == ["ok", "ok"])
        #expect(try again.verifyAudit().isIntact)
    }

    @Test func aRefresherKilledOnThisHostIsNotCounted() throws {
        let directory = try temporaryDirectory()
        let (path, environment) = try store(in: directory)
        let process = Child()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let dead = "\(ProcessInfo.processInfo.hostName):\(process.processIdentifier):dead0005"
        let (store, _) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        try store.heartbeat(owner: dead, at: now)
        let outcome = try Store.rekey(path: path, environment: environment, user: "op", at: now.addingTimeInterval(1))
        #expect(outcome.secrets == 1)
    }

    @Test func aRefresherItCannotCheckIsNamedWithWhenItsEntryExpires() throws {
        let directory = try temporaryDirectory()
        let (path, environment) = try store(in: directory)
        let (store, _) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        try store.heartbeat(owner: "elsewhere.example:4242:abcd0005", at: now)
        let error = try #require(throws: StoreError.self) {
            try Store.rekey(path: path, environment: environment, user: "op", at: now.addingTimeInterval(1))
        }
        #expect(error.code == .busy)
        #expect(
            error.message
                == "1 tokentop process is using \(path) (elsewhere.example:4242:abcd0005, seen 1s ago); stop "
                + "every dashboard and daemon on it and let any refresh or revoke command end, then run rekey "
                + "again; an entry of a process that stopped "
                + "without saying so (on another host, or with its id reused) may be stale and expires within 4s; "
                + "nothing was changed")
        // Once the entry is older than the window, it no longer counts.
        let outcome = try Store.rekey(path: path, environment: environment, user: "op", at: now.addingTimeInterval(6))
        #expect(outcome.secrets == 1)
    }
}
