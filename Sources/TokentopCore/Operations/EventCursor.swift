/// Picks, out of successive snapshots, the events a poller has not seen yet: each exactly once, however many
/// arrive within one clock tick (events older than the snapshot's window are gone by then).
public struct EventCursor: Sendable {
    private var seen: Int

    /// Starts after the events `snapshot` already holds.
    public init(after snapshot: DashboardSnapshot) {
        seen = snapshot.eventsAppended
    }

    /// The events of `snapshot` that came after the last call, in the order they arrived.
    public mutating func unseen(in snapshot: DashboardSnapshot) -> ArraySlice<HistoryEntry> {
        let count = min(snapshot.arrivals.count, max(0, snapshot.eventsAppended - seen))
        seen = snapshot.eventsAppended
        return snapshot.arrivals.suffix(count)
    }
}
