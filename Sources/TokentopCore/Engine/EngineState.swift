import Foundation
import Synchronization

/// The core's live state, shared by the refresh actor (writer) and the front end (reader of snapshots).
///
/// A mutex guards one ``DashboardSnapshot``; readers copy it, which is cheap until a writer changes it.
final class EngineState: Sendable {
    private struct Inner {
        var snapshot: DashboardSnapshot
        var index: [String: Int]
    }

    private let inner: Mutex<Inner>
    /// How many events the snapshot keeps for the event pane.
    static let eventLimit = 200

    init(
        databasePath: String, connections: [Connection], integrations: [Integration], events: [HistoryEntry],
        policy: RefreshPolicy
    ) {
        let snapshot = DashboardSnapshot(
            version: 1, databasePath: databasePath, connections: connections,
            integrations: Dictionary(integrations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            events: events, policy: policy)
        inner = Mutex(Inner(snapshot: snapshot, index: Self.index(connections)))
    }

    private static func index(_ connections: [Connection]) -> [String: Int] {
        Dictionary(connections.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    func snapshot() -> DashboardSnapshot { inner.withLock { $0.snapshot } }

    func connection(_ id: String) -> Connection? {
        inner.withLock { state in state.index[id].map { state.snapshot.connections[$0] } }
    }

    func integration(_ id: String) -> Integration? { inner.withLock { $0.snapshot.integrations[id] } }

    /// Replaces one connection and appends an event, in one step that readers see whole.
    func update(_ connection: Connection, event: HistoryEntry?) {
        inner.withLock { state in
            // FIXME: replacing one element copies the whole array while a reader holds a snapshot (O(n) per
            // update); at 100,000 connections this wants a persistent structure or coalesced publishing.
            if let position = state.index[connection.id] {
                state.snapshot.connections[position] = connection
            }
            if let event { Self.append(event, to: &state.snapshot) }
            state.snapshot.version &+= 1
        }
    }

    /// Replaces a connection, or inserts one another process added, keeping the scope-then-id order.
    func upsert(_ connection: Connection) {
        inner.withLock { state in
            if let position = state.index[connection.id] {
                state.snapshot.connections[position] = connection
            } else {
                let position =
                    state.snapshot.connections.firstIndex {
                        ($0.scope, $0.id) > (connection.scope, connection.id)
                    } ?? state.snapshot.connections.endIndex
                state.snapshot.connections.insert(connection, at: position)
                state.index = Self.index(state.snapshot.connections)
                state.snapshot.positions = state.index
            }
            state.snapshot.version &+= 1
        }
    }

    func setIntegrations(_ integrations: [Integration]) {
        inner.withLock { state in
            state.snapshot.integrations = Dictionary(integrations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            state.snapshot.version &+= 1
        }
    }

    /// Appends history entries read from the store, skipping those this process already showed.
    func merge(events: [HistoryEntry]) {
        guard !events.isEmpty else { return }
        inner.withLock { state in
            let recent = state.snapshot.events.suffix(Self.eventLimit)
            var added = false
            for event in events
            where !recent.contains(where: {
                // Times went through the database as floating point: equal within a millisecond.
                abs($0.at.timeIntervalSince(event.at)) < 0.001 && $0.connectionID == event.connectionID
                    && $0.kind == event.kind
            }) {
                var event = event
                event.byAnotherProcess = true
                Self.append(event, to: &state.snapshot)
                added = true
            }
            if added { state.snapshot.version &+= 1 }
        }
    }

    func append(event: HistoryEntry) {
        inner.withLock { state in
            Self.append(event, to: &state.snapshot)
            state.snapshot.version &+= 1
        }
    }

    private static func append(_ event: HistoryEntry, to snapshot: inout DashboardSnapshot) {
        snapshot.events.append(event)
        snapshot.eventsAppended += 1
        if snapshot.events.count > eventLimit { snapshot.events.removeFirst(snapshot.events.count - eventLimit) }
    }

    func setInFlight(_ id: String, _ flying: Bool) {
        inner.withLock { state in
            if flying { state.snapshot.inFlight.insert(id) } else { state.snapshot.inFlight.remove(id) }
            state.snapshot.version &+= 1
        }
    }

    func setNextDue(_ date: Date?) {
        inner.withLock { state in
            guard state.snapshot.nextDue != date else { return }
            state.snapshot.nextDue = date
            state.snapshot.version &+= 1
        }
    }

    func setPolicy(_ policy: RefreshPolicy) {
        inner.withLock { state in
            state.snapshot.policy = policy
            state.snapshot.version &+= 1
        }
    }

    func setReadOnly(_ readOnly: Bool) {
        inner.withLock { state in
            state.snapshot.readOnly = readOnly
            state.snapshot.version &+= 1
        }
    }

    func setNotice(_ notice: String?) {
        inner.withLock { state in
            guard state.snapshot.notice != notice else { return }
            state.snapshot.notice = notice
            state.snapshot.version &+= 1
        }
    }

    func setHistory(_ entries: [HistoryEntry], for id: String) {
        inner.withLock { state in
            state.snapshot.histories[id] = entries
            state.snapshot.version &+= 1
        }
    }
}
