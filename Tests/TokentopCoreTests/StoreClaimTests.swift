
import Foundation
import Synchronization
import Testing
@testable import TokentopCore
import TokentopTestSupport

/// Refreshers sharing a store claim due connections through the index over due times, each row by one of them.
struct StoreClaimTests {
    let now = StoreFixtures.epoch.addingTimeInterval(3600)

    /// A store whose connections' tokens expire `expiries` seconds after the fixture's import time.
    func store(in directory: StoreTemporaryDirectory, expiries: [Double]) throws -> Store {
        let connections = expiries.enumerated().map { index, seconds in
            var entry = StoreFixtures.connection(String(format: "acme-%03d", index))
            entry.expiresIn = seconds
            return entry
        }
        return try StoreFixtures.store(in: directory, connections: connections)
    }

    @Test(arguments: StoreEngine.available)
    func claimsTheEarliestDueUpToTheLimitAndNobodyTakesThemTwice(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        // Imported at the epoch; by `now` (an hour later) those expiring within the hour plus the lead are due.
        let store = try store(in: directory, expiries: [3000, 600, 1800, 86_400, 2400])
        let first = try store.claimDue(owner: "host:1:a", limit: 2, now: now, until: now.addingTimeInterval(90))
        #expect(first.map(\.connection.id) == ["acme-001", "acme-002"])
        #expect(first.allSatisfy { !$0.lease.interrupted && $0.lease.owner == "host:1:a" })
        let second = try store.claimDue(owner: "host:2:b", limit: 10, now: now, until: now.addingTimeInterval(90))
        #expect(second.map(\.connection.id) == ["acme-004", "acme-000"])
        #expect(try store.claimDue(owner: "host:3:c", limit: 10, now: now, until: now.addingTimeInterval(90)).isEmpty)

        // A lease that expires without a result is taken over, and the claim says the refresh was interrupted.
        let later = now.addingTimeInterval(91)
        let retaken = try store.claimDue(owner: "host:3:c", limit: 10, now: later, until: later.addingTimeInterval(90))
        #expect(Set(retaken.map(\.connection.id)) == ["acme-000", "acme-001", "acme-002", "acme-004"])
        #expect(retaken.allSatisfy { $0.lease.interrupted })
    }

    @Test(arguments: StoreEngine.available)
    func aStoredResultMovesTheDueTimeAndAHeldLeaseWaits(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory, expiries: [600, 900])
        let claimed = try store.claimDue(owner: "host:1:a", limit: 10, now: now, until: now.addingTimeInterval(90))
        #expect(claimed.count == 2)
        let first = try #require(claimed.first)
        let (refreshed, lease) = (first.connection, first.lease)
        try store.recordRefreshSuccess(
            connectionID: refreshed.id, grant: TokenGrant(accessToken: Secret("fake-access-token-0100"), expiresIn: 3600),
            at: now, message: "refreshed", lease: lease)
        // The other is held (say, its parent is not ready) for five minutes.
        let (held, heldLease) = (claimed[1].connection, claimed[1].lease)
        try store.holdLease(connectionID: held.id, heldLease, until: now.addingTimeInterval(300))
        let soon = now.addingTimeInterval(120)
        #expect(try store.claimDue(owner: "host:2:b", limit: 10, now: soon, until: soon.addingTimeInterval(90)).isEmpty)
        let after = now.addingTimeInterval(301)
        let again = try store.claimDue(owner: "host:2:b", limit: 10, now: after, until: after.addingTimeInterval(90))
        #expect(again.map(\.connection.id) == [held.id])
    }

    /// A lease held while its refresh cannot happen (a breaker cools down, a parent is blocked) holds off other
    /// refreshers, but no request of it is in flight: an import does not wait for it (it waited up to the breaker's
    /// five minutes), a revocation takes it over, and whoever takes it once it ends interrupts nothing.
    @Test(arguments: StoreEngine.available)
    func aParkedLeaseHoldsOffRefreshersButNobodyWaitsForIt(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory, expiries: [600, 900, 1200])
        let claimed = try store.claimDue(owner: "host:1:a", limit: 10, now: now, until: now.addingTimeInterval(90))
        #expect(claimed.count == 3)
        for claim in claimed {
            try store.holdLease(connectionID: claim.connection.id, claim.lease, until: now.addingTimeInterval(300))
        }
        let soon = now.addingTimeInterval(120)
        #expect(try store.claimDue(owner: "host:2:b", limit: 10, now: soon, until: soon.addingTimeInterval(90)).isEmpty)
        let revoking = try #require(
            try store.claimLease(
                connectionID: "acme-000", owner: "host:2:b", until: soon.addingTimeInterval(90), now: soon))
        #expect(!revoking.1.interrupted)
        try store.releaseLease(connectionID: "acme-000", revoking.1)
        var waited: [String] = []
        let bundle = ImportBundle(
            source: "again.json", integrations: [], connections: [StoreFixtures.connection("acme-001")])
        _ = try store.importBundle(bundle, at: soon) { waited.append($0) }
        #expect(waited.isEmpty, "\(waited)")
        let after = now.addingTimeInterval(301)
        let taken = try store.claimDue(owner: "host:3:c", limit: 10, now: after, until: after.addingTimeInterval(90))
        // acme-001, imported again, is due later now.
        #expect(taken.map(\.connection.id) == ["acme-000", "acme-002"])
        #expect(taken.allSatisfy { !$0.lease.interrupted })
    }

    /// An operator's refresh takes another process's parked lease over (nothing of it is in flight, and its hold may
    /// last a breaker's hour); the schedule's refreshes leave it be.
    @Test(arguments: StoreEngine.available)
    func anOperatorsRefreshTakesAParkedLeaseOver(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory, expiries: [600])
        let claimed = try #require(
            try store.claimDue(owner: "host:1:a", limit: 1, now: now, until: now.addingTimeInterval(90)).first)
        try store.holdLease(connectionID: "acme-000", claimed.lease, until: now.addingTimeInterval(3_600))
        let soon = now.addingTimeInterval(60)
        func claim(operator asked: Bool) throws -> ClaimedRefresh? {
            let request = LeaseRequest(
                connectionID: "acme-000", owner: "host:2:b", until: soon.addingTimeInterval(90), now: soon,
                takesParked: asked)
            return try store.writeRefreshBatch(claims: [request], records: []).claims.first?.get()
        }
        #expect(try claim(operator: false) == nil, "the schedule waits for the parked lease")
        let taken = try #require(try claim(operator: true))
        #expect(!taken.lease.interrupted)
    }

    @Test(arguments: StoreEngine.available)
    func concurrentClaimersShareTheWorkWithoutOverlap(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let first = try store(in: directory, expiries: Array(repeating: 600, count: 60))
        let claimers = try (0..<3).map { _ in try Store.open(path: first.path, secrets: SecretBox(key: StoreFixtures.key)) }
        let taken = Mutex<[[String]]>([[], [], []])
        DispatchQueue.concurrentPerform(iterations: 3) { index in
            while true {
                let batch = (try? claimers[index].claimDue(
                    owner: "host:\(index):x", limit: 4, now: now, until: now.addingTimeInterval(90))) ?? []
                if batch.isEmpty { break }
                taken.withLock { $0[index] += batch.map(\.connection.id) }
            }
        }
        let all = taken.withLock { $0 }
        #expect(all.flatMap { $0 }.count == 60, "every due connection claimed once")
        #expect(Set(all.flatMap { $0 }).count == 60, "none twice")
    }

    @Test(arguments: StoreEngine.available)
    func leasesOfARefresherThatDiedOnThisHostEndAtOnce(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory, expiries: [600, 600, 600])
        let host = ProcessInfo.processInfo.hostName
        let process = Child()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        let dead = "\(host):\(process.processIdentifier):dead0001"
        let until = now.addingTimeInterval(90)
        let left = try #require(try store.claimDue(owner: dead, limit: 1, now: now, until: until).first)
        let far = "elsewhere.example:\(process.processIdentifier):far00001"
        _ = try store.claimDue(owner: far, limit: 1, now: now, until: until)
        _ = try store.claimDue(owner: LeaseOwner.make(), limit: 1, now: now, until: until)
        #expect(try store.claimDue(owner: "host:9:z", limit: 10, now: now, until: until).isEmpty)
        #expect(try store.endLeasesOfGoneOwners(now: now) == 1, "only the dead process on this host")
        let taken = try store.claimDue(owner: "host:9:z", limit: 10, now: now, until: until)
        #expect(taken.map(\.connection.id) == [left.connection.id])
        #expect(taken.first?.lease.interrupted == true)
    }

    @Test(arguments: StoreEngine.available)
    func rowsWithoutADueTimeGetOneFromThePolicy(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory, expiries: [600, 600])
        try store.locked { try store.database.execute("UPDATE connections SET due_at = NULL") }
        #expect(try store.claimDue(owner: "host:1:a", limit: 10, now: now, until: now.addingTimeInterval(90)).isEmpty)
        #expect(try store.fillMissingDueTimes() == 2)
        #expect(try store.claimDue(owner: "host:1:a", limit: 10, now: now, until: now.addingTimeInterval(90)).count == 2)
    }
}
