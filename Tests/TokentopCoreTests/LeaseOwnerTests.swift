
import Foundation
import Testing
@testable import TokentopCore
import TokentopTestSupport

/// Refresh leases left behind by a process that is gone are taken over at once, and say so.
struct LeaseOwnerTests {
    let host = ProcessInfo.processInfo.hostName
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// The pid of a process that has run and been reaped.
    func deadPID() throws -> Int32 {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    func store(in directory: StoreTemporaryDirectory) throws -> Store {
        let store = try Store.open(path: try directory.location("t"), secrets: .ephemeral())
        let file = """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://acme.example/token",
              "client_id": "c", "client_secret": "fake-secret"}],
             "connections": [{"id": "acme-1", "integration": "acme", "scope": "user", "subject": "u@example.com",
              "access_token": "fake-at", "refresh_token": "fake-rt", "expires_in": 3600}]}
            """
        _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
        return store
    }

    @Test func onlyADeadPidOnThisHostIsGone() throws {
        #expect(LeaseOwner.isGone("\(host):\(try deadPID()):abcd1234"))
        #expect(!LeaseOwner.isGone(LeaseOwner.make()), "this process")
        #expect(!LeaseOwner.isGone("\(host):1:abcd1234"), "init is alive")
        #expect(!LeaseOwner.isGone("elsewhere.example:\(try deadPID()):abcd1234"), "another host: wait for expiry")
        #expect(!LeaseOwner.isGone("not a lease owner"))
    }

    @Test(arguments: StoreEngine.available)
    func aDeadHoldersLeaseIsTakenOverAndMarkedInterrupted(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory)
        let dead = "\(host):\(try deadPID()):dead0001"
        let first = try #require(
            try store.claimLease(connectionID: "acme-1", owner: dead, until: now.addingTimeInterval(90), now: now))
        #expect(!first.1.interrupted)
        // The holder was killed before it stored anything: the next refresher need not wait 90 s.
        let next = try #require(
            try store.claimLease(
                connectionID: "acme-1", owner: LeaseOwner.make(), until: now.addingTimeInterval(91),
                now: now.addingTimeInterval(1)))
        #expect(next.1.interrupted)
    }

    @Test(arguments: StoreEngine.available)
    func aLiveHoldersLeaseStandsUntilItExpires(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory)
        let alive = LeaseOwner.make()
        let held = try store.claimLease(
            connectionID: "acme-1", owner: alive, until: now.addingTimeInterval(90), now: now)
        #expect(held != nil)
        let other = LeaseOwner.make()
        #expect(try store.claimLease(connectionID: "acme-1", owner: other, until: now, now: now) == nil)
        let late = try #require(
            try store.claimLease(
                connectionID: "acme-1", owner: other, until: now.addingTimeInterval(200),
                now: now.addingTimeInterval(91)))
        #expect(late.1.interrupted, "an expired lease was not given back either")
        // A lease given back is not an interruption.
        try store.releaseLease(connectionID: "acme-1", late.1)
        let clean = try #require(
            try store.claimLease(
                connectionID: "acme-1", owner: alive, until: now.addingTimeInterval(300),
                now: now.addingTimeInterval(92)))
        #expect(!clean.1.interrupted)
    }
}
