import Foundation
import Synchronization
import Testing

@testable import TokentopCore

/// The snapshot's events, as the event pane shows them: in time order, whichever way they arrived; and each one
/// handed once to whoever polls them (hooks, the daemon's log) in the order it arrived.
struct EngineStateEventTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func state() -> EngineState {
        EngineState(
            databasePath: "t", connections: ConnectionList([]), integrations: [], events: [], policy: .standard,
            now: start)
    }

    static func entry(_ second: Double, _ id: String, byAnotherProcess: Bool = false) -> HistoryEntry {
        HistoryEntry(
            at: start.addingTimeInterval(second), connectionID: id, kind: .refreshed, message: "refreshed",
            byAnotherProcess: byAnotherProcess)
    }

    static func seconds(_ events: some Sequence<HistoryEntry>) -> [Double] {
        events.map { $0.at.timeIntervalSince(start) }
    }

    @Test func eventsFromTheHistoryFeedTakeTheirPlaceByTime() {
        let state = Self.state()
        var cursor = EventCursor(after: state.snapshot())
        state.append(event: Self.entry(45, "here-1"))
        // Another process's work, read from the store a moment later: older and newer than this process's.
        state.merge(events: [Self.entry(44, "there-1"), Self.entry(46, "there-2"), Self.entry(1, "there-3")])
        state.append(event: Self.entry(47, "here-2"))
        state.merge(events: [Self.entry(45, "there-4")])
        let snapshot = state.snapshot()
        #expect(Self.seconds(snapshot.events) == [1, 44, 45, 45, 46, 47])
        // Equal times keep the order they arrived in.
        #expect(
            snapshot.events.map(\.connectionID) == ["there-3", "there-1", "here-1", "there-4", "there-2", "here-2"])
        #expect(snapshot.events.filter(\.byAnotherProcess).count == 4)
        // A poller gets every event once, as it arrived.
        #expect(
            cursor.unseen(in: snapshot).map(\.connectionID) == [
                "here-1", "there-1", "there-2", "there-3", "here-2", "there-4",
            ])
        #expect(cursor.unseen(in: state.snapshot()).isEmpty)
    }

    @Test func aFullPaneKeepsTheNewestByTimeAndThePollerStillSeesAnOldArrival() {
        let state = Self.state()
        for second in 0..<EngineState.eventLimit { state.append(event: Self.entry(Double(100 + second), "here")) }
        var cursor = EventCursor(after: state.snapshot())
        state.merge(events: [Self.entry(50, "late"), Self.entry(1_000, "new")])
        let snapshot = state.snapshot()
        #expect(snapshot.events.count == EngineState.eventLimit)
        #expect(Self.seconds(snapshot.events) == Self.seconds(snapshot.events).sorted())
        #expect(!snapshot.events.contains { $0.connectionID == "late" }, "older than every event shown")
        #expect(snapshot.events.first?.at == Self.start.addingTimeInterval(101))
        #expect(snapshot.events.last?.connectionID == "new")
        #expect(cursor.unseen(in: snapshot).map(\.connectionID) == ["late", "new"])
        // Many more arrivals later, the poller still gets each one exactly once.
        for second in 0..<(3 * EngineState.eventLimit) {
            state.append(event: Self.entry(Double(2_000 + second), "more"))
            if second % 7 == 0 { #expect(cursor.unseen(in: state.snapshot()).count == (second == 0 ? 1 : 7)) }
        }
    }

    /// The history feed can read back an entry this process stored before the process shows it (the prober and a
    /// re-auth write outside the refresh actor): the pane still shows it once, as this process's.
    @Test func anOwnEventTheFeedBroughtFirstIsShownOnce() {
        let state = Self.state()
        var cursor = EventCursor(after: state.snapshot())
        let own = Self.entry(45, "key")
        var readBack = own
        // Through the database as floating point.
        readBack.at = own.at.addingTimeInterval(0.0004)
        state.merge(events: [readBack])
        state.append(event: own)
        state.merge(events: [readBack])
        let events = state.snapshot().events
        #expect(events.count == 1)
        #expect(events.first?.byAnotherProcess == false)
        // Hooks fire for this process's own events only: the poller gets this one.
        #expect(cursor.unseen(in: state.snapshot()).last?.byAnotherProcess == false)
    }

    @Test func anotherConnectionKindOrMomentIsAnotherEvent() {
        let state = Self.state()
        state.append(event: Self.entry(45, "key"))
        var revoked = Self.entry(45, "key")
        revoked.kind = .revoked
        state.merge(events: [revoked, Self.entry(45, "other"), Self.entry(45.002, "key"), Self.entry(45, "key")])
        #expect(state.snapshot().events.map(\.connectionID) == ["key", "key", "other", "key"])
    }

    /// A revocation is stored and shown with one time, so the history feed's copy of the stored entry is known
    /// for the one shown, even when the clock moved while the store wrote it.
    @Test func aRevocationIsShownOnceAfterTheFeedReadsItBack() async throws {
        let clock = TickingClock(start: Self.start)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        let sandbox = SandboxProvider(clock: clock, latency: 0...0)
        sandbox.addProvider("acme", behaviour: .init(rotates: false, lifetimes: 600...600))
        sandbox.addClient(id: "client-1", secret: Secret("fake-client-secret"), provider: "acme")
        sandbox.issueRefreshToken(Secret("fake-rt-0001"), clientID: "client-1")
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": [
                [
                    "id": "acme", "provider": "acme", "token_url": SandboxProvider.tokenURL("acme").absoluteString,
                    "revocation_url": SandboxProvider.revocationURL("acme").absoluteString,
                    "client_id": "client-1", "client_secret": "fake-client-secret",
                ]
            ],
            "connections": [
                [
                    "id": "alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
                    "access_token": "fake-at-0001", "refresh_token": "fake-rt-0001", "expires_in": 86_400,
                ]
            ],
        ])
        _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: clock.now())
        let engine = try Engine(store: store, transport: sandbox, timeSource: clock)
        engine.start()
        // The actor follows the feed from where the store stood when it started: let it start first.
        for _ in 0..<500 where engine.snapshot().nextDue == nil { try await Task.sleep(nanoseconds: 10_000_000) }
        let revoked = try await engine.revokeNow("alice")
        #expect(revoked.revokedAtProvider)
        // Another process's entry after it: once the feed has brought that one, it has read the revocation too.
        try store.appendHistory(
            HistoryEntry(at: clock.now(), connectionID: "bob", kind: .refreshed, message: "by another process"))
        for _ in 0..<500 where !engine.snapshot().events.contains(where: { $0.connectionID == "bob" }) {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        let events = engine.snapshot().events
        await engine.stop()
        #expect(events.contains { $0.connectionID == "bob" && $0.byAnotherProcess }, "the feed was not read")
        let shown = events.filter { $0.connectionID == "alice" && $0.kind == .revoked }
        #expect(shown.count == 1, "\(shown)")
        #expect(shown.first?.byAnotherProcess == false)
        #expect(try store.history(connectionID: "alice", limit: 10).filter { $0.kind == .revoked }.count == 1)
    }
}

/// A clock that moves a little each time it is read, as a real one does while the disk writes, and by the whole
/// wait when asked to sleep.
private final class TickingClock: TimeSource {
    private let current: Mutex<Date>

    init(start: Date) { current = Mutex(start) }

    func now() -> Date {
        current.withLock { now in
            defer { now = now.addingTimeInterval(0.005) }
            return now
        }
    }

    func sleep(seconds: Double) async throws {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
        try await Task.sleep(nanoseconds: UInt64(max(0.001, min(seconds, 0.02)) * 1_000_000_000))
    }
}
