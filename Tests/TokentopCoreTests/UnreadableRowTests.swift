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
                "; 1 stored connection cannot be read and is left out, not refreshed: acme-bob; `tokentop show ID` "
                    + "says why"), "\(status.line)")

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

    /// The summary names ten ids and counts the rest.
    @Test func theSummaryNamesTenAndCountsTheRest() {
        let rows = (1...12).map { UnreadableConnection(id: "c\($0)", problem: "damaged") }
        #expect(
            UnreadableConnection.summary(rows)
                == "12 stored connections cannot be read and are left out, not refreshed: c1, c2, c3, c4, c5, c6, c7, "
                + "c8, c9, c10 and 2 more; `tokentop show ID` says why")
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
