import CSQLite
import Foundation
import Testing

@testable import TokentopCore

struct AuditLogTests {
    func store() throws -> Store {
        let directory = try temporaryDirectory()
        return try Store.open(path: directory.appendingPathComponent("a.sqlite3").path, secrets: .ephemeral())
    }

    func fill(_ store: Store) throws {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try store.appendAudit(
            action: .import, target: "team.json", outcome: "ok", detail: "2 added", user: "ops", at: at)
        try store.appendAudit(
            action: .refresh, target: "acme-alice", outcome: "ok", detail: "refreshed", user: "ops", at: at + 1)
        try store.appendAudit(
            action: .revoke, target: "acme-bob", outcome: "failed", detail: "server_error", user: "ops", at: at + 2)
    }

    /// Runs raw SQL on the file behind the store's back, as a tamperer would.
    func tamper(_ store: Store, _ sql: String) throws {
        var handle: OpaquePointer?
        #expect(sqlite3_open(store.path, &handle) == SQLITE_OK)
        defer { sqlite3_close(handle) }
        #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK)
    }

    /// An action that waited for another process's lock is written after it with its own, earlier start time: the
    /// log then went back in time (`seq` 3 stamped before `seq` 1 after four imports at once). Its time is now
    /// never before the entry it follows, and the chain still verifies.
    @Test func anEntryWrittenLateIsNeverStampedBeforeTheOneItFollows() throws {
        let store = try store()
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try store.appendAudit(action: .import, target: "a.json", outcome: "ok", detail: "1 added", user: "ops", at: at)
        try store.appendAudit(
            action: .import, target: "b.json", outcome: "ok", detail: "1 added", user: "ops", at: at - 3)
        try store.appendAudit(
            action: .import, target: "c.json", outcome: "ok", detail: "1 added", user: "ops", at: at + 5)
        let log = try store.auditLog()
        #expect(log.map(\.at) == [at, at, at + 5])
        #expect(try store.verifyAudit() == AuditVerification(entries: 3, firstBroken: nil, problem: nil))
    }

    /// A time edited into text (`SET at = 'yesterday'`) is named by table, column and entry, not read as 1970.
    @Test func anEntryTimeEditedIntoTextIsNamed() throws {
        let store = try store()
        try fill(store)
        try tamper(store, "UPDATE audit SET at = 'yesterday' WHERE seq = 2")
        let error = try #require(throws: StoreError.self) { try store.auditLog() }
        #expect(
            error.message.contains(
                "table audit, column at, row 2 holds \"yesterday\", not a time in seconds since 1970; set it to a "
                    + "number of seconds or NULL, or restore the audit log from an export"),
            "\(error.message)")
    }

    @Test func entriesChainAndVerify() throws {
        let store = try store()
        try fill(store)
        let log = try store.auditLog()
        #expect(log.map(\.sequence) == [1, 2, 3])
        #expect(log[0].previousHash == AuditEntry.genesis)
        #expect(log[1].previousHash == log[0].hash)
        #expect(log[2].previousHash == log[1].hash)
        #expect(log.map(\.action) == [.import, .refresh, .revoke])
        #expect(try store.verifyAudit() == AuditVerification(entries: 3, firstBroken: nil, problem: nil))
    }

    @Test(arguments: [
        ("UPDATE audit SET outcome = 'ok' WHERE seq = 3", 3, "entry 3 was changed after it was written"),
        ("UPDATE audit SET detail = 'nothing' WHERE seq = 1", 1, "entry 1 was changed after it was written"),
        ("DELETE FROM audit WHERE seq = 2", 2, "entry 2 is missing (the next one is numbered 3)"),
        (
            "DELETE FROM audit WHERE seq = 1; UPDATE audit SET seq = seq - 1", 1,
            "entry 1 does not link to the entry before it"
        ),
    ])
    func tamperingShows(sql: String, broken: Int, problem: String) throws {
        let store = try store()
        try fill(store)
        try tamper(store, sql)
        let result = try store.verifyAudit()
        #expect(result.firstBroken == broken)
        #expect(result.problem == problem)
        #expect(!result.isIntact)
    }

    @Test(arguments: [
        ("DELETE FROM audit WHERE seq = 3", 3, "entry 3 was removed from the end of the log"),
        ("DELETE FROM audit", 1, "entries 1 to 3 were removed from the end of the log"),
        ("DELETE FROM meta WHERE name = 'audit_anchor'", 1, "the log's sealed anchor is missing"),
    ])
    func removingTheTailOrTheAnchorShows(sql: String, broken: Int, problem: String) throws {
        let store = try store()
        try fill(store)
        try tamper(store, sql)
        let result = try store.verifyAudit()
        #expect(result.firstBroken == broken)
        #expect(result.problem == problem)
    }

    static let oneConnection = """
        {"integrations": [{"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
          "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
         "connections": [{"id": "acme-key", "integration": "acme", "scope": "org", "subject": "org:acme",
          "credential": "api_key", "access_token": "fake-api-key-0001"}]}
        """

    /// A new store's log is anchored at birth, so a store filled without any audited action (the demo's seed)
    /// verifies, and so does an anchor with no log in a store that never held anything.
    @Test func aNewStoreIsAnchoredAndVerifiesEmpty() throws {
        let store = try store()
        #expect(try store.verifyAudit() == AuditVerification(entries: 0, firstBroken: nil, problem: nil))
        _ = try store.importBundle(try ImportFile.parse(Data(Self.oneConnection.utf8), source: "t.json"), at: Date())
        #expect(try store.verifyAudit() == AuditVerification(entries: 0, firstBroken: nil, problem: nil))
        let fresh = try self.store()
        try tamper(fresh, "DELETE FROM meta WHERE name = 'audit_anchor'")
        #expect(try fresh.verifyAudit() == AuditVerification(entries: 0, firstBroken: nil, problem: nil))
    }

    /// The whole log and its anchor removed from a store that holds connections, or held them (a deleted one
    /// leaves its row behind): `verify` said "intact: 0 entries".
    @Test(arguments: [false, true])
    func removingTheWholeLogAndItsAnchorShows(deleteTheConnection: Bool) throws {
        let store = try store()
        _ = try store.importBundle(try ImportFile.parse(Data(Self.oneConnection.utf8), source: "t.json"), at: Date())
        try fill(store)
        if deleteTheConnection {
            try tamper(store, "DELETE FROM connections; DELETE FROM integrations")
            try tamper(store, "INSERT INTO deleted_connections (change_seq, id, at) VALUES (7, 'acme-key', 0)")
        }
        try tamper(store, "DELETE FROM audit; DELETE FROM meta WHERE name = 'audit_anchor'")
        #expect(
            try store.verifyAudit()
                == AuditVerification(
                    entries: 0, firstBroken: 1,
                    problem: "the log's anchor is missing, yet the store holds (or held) connections, integrations "
                        + "or history: the log may have been removed"))
    }

    @Test func aChainRecomputedWithoutTheKeyDoesNotMatchTheAnchor() throws {
        let store = try store()
        try fill(store)
        // Rewrite entry 3 and recompute its hash, as someone with write access but no key could.
        var entry = try store.auditLog()[2]
        entry.user = "mallory"
        let forged = entry.expectedHash
        try tamper(store, "UPDATE audit SET os_user = 'mallory', hash = '\(forged)' WHERE seq = 3")
        let result = try store.verifyAudit()
        #expect(result.problem == "the log was rewritten: its newest entry does not match the sealed anchor")
    }

    @Test func detailsAreMasked() throws {
        let store = try store()
        let entry = try store.appendAudit(
            action: .refresh, target: "x", outcome: "failed", detail: "echoed fake0123456789abcdefghijklmnopq back",
            user: "ops", at: Date())
        #expect(entry.detail == "echoed [masked] back")
    }
}
