import Foundation
import Testing

@testable import TokentopCore

/// History past the retention goes, a chunk at a time, from processes that refresh; read-only ones and a retention
/// of 0 keep it all.
struct HistoryRetentionTests {
    /// How many history entries are older than `date`.
    static func count(_ store: Store, before date: Date) throws -> Int {
        try store.locked {
            try store.database.query("SELECT count(*) FROM history WHERE at < ?", [date]) { $0.int(0) }.first ?? 0
        }
    }

    /// `old` entries from 91 to 120 days ago, and 3 from yesterday.
    static func fill(_ store: Store, now: Date, old: Int) throws {
        try store.locked {
            try store.database.transaction(durable: false) {
                for index in 0..<old {
                    let at = now.addingTimeInterval(-Double(91 + index % 30) * 86_400)
                    try store.insertHistory(
                        HistoryEntry(at: at, connectionID: "alice", kind: .refreshed, message: "refreshed \(index)"))
                }
                for index in 0..<3 {
                    try store.insertHistory(
                        HistoryEntry(
                            at: now.addingTimeInterval(-86_400), connectionID: "alice", kind: .refreshed,
                            message: "recent \(index)"))
                }
            }
        }
    }

    @Test(arguments: [(false, 90.0, true), (true, 90.0, false), (false, 0.0, false)])
    func theActorPrunesPastTheRetention(readOnly: Bool, days: Double, prunes: Bool) async throws {
        let tests = EngineTests()
        let (engine, _) = try tests.makeEngine(
            connections: [tests.userConnection("alice", expiresIn: 86_400)], readOnly: readOnly)
        var settings = Settings()
        settings.historyDays = days
        await engine.apply(policy: settings.applied(to: .standard))
        let now = tests.clock.now()
        let cut = now.addingTimeInterval(-90 * 86_400)
        try Self.fill(engine.store, now: now, old: 4_500)
        #expect(try Self.count(engine.store, before: cut) == 4_500)
        // Naps move the clock, so the chunks a second apart come in a few real seconds.
        tests.clock.letSleepingMoveTime()
        engine.start()
        for _ in 0..<400 where try Self.count(engine.store, before: cut) > 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        await engine.stop()
        // Three chunks of 2,000 at most: nothing newer than the retention goes.
        #expect(try Self.count(engine.store, before: cut) == (prunes ? 0 : 4_500))
        let recent = try engine.store.history(connectionID: "alice", limit: 100).filter {
            $0.message.hasPrefix("recent")
        }
        #expect(recent.count == 3)
    }

    @Test func aPruneDeletesOneChunkOldestFirst() throws {
        let tests = EngineTests()
        let (engine, _) = try tests.makeEngine(connections: [tests.userConnection("alice")])
        let now = tests.clock.now()
        try Self.fill(engine.store, now: now, old: 50)
        let cut = now.addingTimeInterval(-90 * 86_400)
        #expect(try engine.store.pruneHistory(before: cut, limit: 20) == 20)
        #expect(try Self.count(engine.store, before: cut) == 30)
        // The oldest went first: what is left is no older than what went.
        let oldestLeft = try engine.store.locked {
            try engine.store.database.query("SELECT min(at) FROM history") { $0.date(0) }.first ?? nil
        }
        #expect(try #require(oldestLeft) >= now.addingTimeInterval(-120 * 86_400))
        #expect(try engine.store.pruneHistory(before: cut, limit: 2_000) == 30)
        #expect(try engine.store.pruneHistory(before: cut, limit: 2_000) == 0)
    }
}
