import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A stored row this tokentop cannot read (a value edited in by hand, or written by a newer version) is left out and
/// named, instead of failing every read of the store: one such row stopped a daemon from refreshing all the others,
/// and one written while it ran stopped it from seeing any later change.
struct UnreadableRowTests {
    let clock = TestClock(StoreFixtures.epoch)

    @Test func aRowThatCannotBeReadIsLeftOutNamedAndTakenBackOnceRepaired() async throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let ids = ["acme-alice", "acme-bob", "acme-carol"]
        let store = try StoreFixtures.store(in: directory, connections: ids.map { StoreFixtures.connection($0) })
        try damage("acme-bob", in: store, "scope = 'galaxy'")
        let engine = try Engine(
            store: store, transport: SandboxProvider(clock: clock, latency: 0...0), timeSource: clock)
        var snapshot = engine.snapshot()
        #expect(snapshot.connections.map(\.id) == ["acme-alice", "acme-carol"])
        #expect(snapshot.unreadable.map(\.id) == ["acme-bob"])
        #expect(snapshot.unreadable.first?.problem.contains("the scope of connection acme-bob is \"galaxy\"") == true)
        let status = StatusSummary(snapshot, at: clock.now())
        #expect(status.exitCode == 2)
        #expect(
            status.line.hasSuffix(
                "; 1 stored connection cannot be read, left out and not refreshed (`tokentop show ID` says why): "
                    + "acme-bob"), "\(status.line)")

        // Damaged while the engine runs: it leaves the fleet, and the change feed goes on past it.
        engine.start()
        try damage("acme-carol", in: store, "expires_at = 'soon'")
        snapshot = try await waitFor(engine) { $0.unreadable.count == 2 }
        #expect(snapshot.unreadable.map(\.id) == ["acme-bob", "acme-carol"])
        #expect(snapshot.connections.map(\.id) == ["acme-alice"])
        #expect(
            snapshot.unreadable.last?.problem.contains("column expires_at, row acme-carol holds \"soon\"") == true)
        // A change after it still arrives.
        try damage("acme-bob", in: store, "scope = 'user'")
        snapshot = try await waitFor(engine) { $0.unreadable.count == 1 }
        #expect(snapshot.unreadable.map(\.id) == ["acme-carol"])
        #expect(snapshot.connections.map(\.id) == ["acme-alice", "acme-bob"])
        await engine.stop()
    }

    /// A failure count below 0 is no count tokentop wrote: the row is unreadable, not a healthy connection showing
    /// -3 failures.
    @Test func aNegativeFailureCountIsUnreadable() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let store = try StoreFixtures.store(in: directory, connections: [StoreFixtures.connection("acme-alice")])
        try damage("acme-alice", in: store, "failures = -3")
        let (list, unreadable) = try store.connectionList()
        #expect(list.isEmpty)
        #expect(unreadable.map(\.id) == ["acme-alice"])
        #expect(unreadable.first?.problem.contains("connection acme-alice has a negative failure count (-3)") == true)
        // One at the top of the range overflowed at the next failure, crashing the refresher at every start.
        try damage("acme-alice", in: store, "failures = 9223372036854775807")
        let (_, huge) = try store.connectionList()
        #expect(
            huge.first?.problem.contains("a failure count of 9223372036854775807, more than tokentop ever counts")
                == true)
    }

    /// Importing the credential again repairs its row, as the message advises, also when tokentop renewed its
    /// tokens since the import (the renewed ones are kept): that import failed with the same message.
    @Test func importingAgainRepairsARowWhoseTokensWereRenewed() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let store = try StoreFixtures.store(in: directory, connections: [StoreFixtures.connection("acme-bob")])
        _ = try store.recordRefreshSuccess(
            connectionID: "acme-bob",
            grant: TokenGrant(
                accessToken: Secret("fake-access-token-0102"), refreshToken: Secret("fake-refresh-token-0102"),
                expiresIn: 3600),
            at: StoreFixtures.epoch.addingTimeInterval(60), message: "refreshed")
        try damage("acme-bob", in: store, "scope = 'galaxy'")
        #expect(try store.connectionList().unreadable.map(\.id) == ["acme-bob"])
        let summary = try store.importBundle(
            ImportBundle(
                source: "again.json", integrations: [StoreFixtures.integration()],
                connections: [StoreFixtures.connection("acme-bob")]),
            at: StoreFixtures.epoch.addingTimeInterval(120))
        #expect(summary.keptTokens.first?.hasSuffix("; its stored row could not be read, and was repaired") == true)
        let repaired = try #require(try store.connection(id: "acme-bob"))
        let at = StoreFixtures.epoch.addingTimeInterval(120)
        #expect(repaired.scope == .user && repaired.expiresAt == at)
        // Due at once, so that a refresher learns the renewed token's expiry: claimed by a shared store's claims.
        let claims = try store.claimDue(owner: "host:1:a", limit: 5, now: at, until: at.addingTimeInterval(90))
        #expect(claims.map(\.connection.id) == ["acme-bob"])
        #expect(try store.tokenSecrets(connectionID: "acme-bob").refresh == Secret("fake-refresh-token-0102"))
        #expect(try store.connectionList().unreadable.isEmpty)
    }

    /// A due row that cannot be read is passed over by the claims of a shared store, not a failure of them all.
    @Test(arguments: StoreEngine.available)
    func aDueRowThatCannotBeReadIsPassedOverByClaims(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let ids = ["acme-a", "acme-b", "acme-c"]
        let store = try StoreFixtures.store(in: directory, connections: ids.map { StoreFixtures.connection($0) })
        try store.locked {
            try store.database.execute("UPDATE connections SET scope = 'galaxy' WHERE id = ?", ["acme-a"])
        }
        let now = StoreFixtures.epoch.addingTimeInterval(3600)
        let first = try store.claimDue(owner: "host:1:a", limit: 1, now: now, until: now.addingTimeInterval(90))
        #expect(first.map(\.connection.id).count == 1 && first.first?.connection.id != "acme-a")
        let rest = try store.claimDue(owner: "host:1:a", limit: 5, now: now, until: now.addingTimeInterval(90))
        #expect(Set((first + rest).map(\.connection.id)) == ["acme-b", "acme-c"])
    }

    /// A row damaged where the change feed does not see it (or while its refresh was in flight) fails its next
    /// claim alone: it leaves the fleet and is named, with no database problem, instead of failing at every due
    /// time (and, thrown out of a batch, taking the batch's other results with it). On a shared store a row damaged
    /// by hand keeps its change number, so no change feed brings it either: the claims that pass over it name it,
    /// and the process stops refreshing the state it last read.
    @Test(arguments: StoreEngine.available)
    func aRowThatCannotBeReadAtItsClaimLeavesTheFleet(engine kind: StoreEngine) async throws {
        let directory = try StoreTemporaryDirectory(kind)
        let store = try StoreFixtures.store(
            in: directory, connections: ["acme-alice", "acme-bob"].map { StoreFixtures.connection($0) })
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        let engine = try Engine(store: store, transport: sandbox, timeSource: clock)
        engine.start()
        try store.locked {
            try store.database.execute("UPDATE connections SET grant_kind = 'telepathy' WHERE id = 'acme-alice'")
        }
        // Past the lead window of both tokens: their refreshes are claimed. The sandbox serves no provider of the
        // fixture's: the readable one's refresh is tried, and fails.
        clock.advance(3_300)
        let snapshot = try await waitFor(engine) {
            $0.unreadable.count == 1 && $0.connections.allSatisfy { $0.lastError != nil }
        }
        await engine.stop()
        #expect(snapshot.unreadable.map(\.id) == ["acme-alice"])
        #expect(snapshot.unreadable.first?.problem.contains("grant of connection acme-alice") == true)
        #expect(snapshot.connections.map(\.id) == ["acme-bob"])
        #expect(snapshot.connections.first?.lastError != nil, "the readable one was claimed and tried")
        #expect(snapshot.notice == nil, "\(snapshot.notice ?? "")")
    }

    /// The summary names ten ids and counts the rest.
    @Test func theSummaryNamesTenAndCountsTheRest() {
        let rows = (1...12).map { UnreadableConnection(id: "c\($0)", problem: "damaged") }
        #expect(
            UnreadableConnection.summary(rows)
                == "12 stored connections cannot be read, left out and not refreshed (`tokentop show ID` says why): "
                + "c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 and 2 more")
        #expect(UnreadableConnection.summary([]) == nil)
    }

    /// Sets `assignment` on the row of `id` as another process's write would land: with a new change number.
    private func damage(_ id: String, in store: Store, _ assignment: String) throws {
        try store.locked {
            try store.database.execute(
                "UPDATE connections SET \(assignment), change_seq = (SELECT max(change_seq) + 1 FROM connections) "
                    + "WHERE id = ?", [id])
        }
    }

    private func waitFor(
        _ engine: Engine, _ condition: (DashboardSnapshot) -> Bool
    ) async throws -> DashboardSnapshot {
        for _ in 0..<500 {
            let snapshot = engine.snapshot()
            if condition(snapshot) { return snapshot }
            clock.advance(0.2)
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        return engine.snapshot()
    }
}
