import Foundation
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
}
