import Foundation
import Synchronization

/// The core's live state, shared by the refresh actor (writer) and the front end (reader of snapshots).
///
/// A mutex guards one ``DashboardSnapshot``; readers copy it. A write under a held copy copies one chunk of the
/// ``ConnectionList``, not every connection, and the status counts follow each write (``StatusTally``).
final class EngineState: Sendable {
    private struct Inner {
        var snapshot: DashboardSnapshot
        /// Each connection's position by id; nil until ``buildIndex()`` ran, and then a lookup scans.
        var index: [String: Int]?
        var tally: StatusTally
    }

    private let inner: Mutex<Inner>
    /// How many events the snapshot keeps for the event pane.
    static let eventLimit = 200

    init(
        databasePath: String, connections: ConnectionList, integrations: [Integration], events: [HistoryEntry],
        policy: RefreshPolicy, now: Date, unreadable: [UnreadableConnection] = []
    ) {
        var snapshot = DashboardSnapshot(
            version: 1, databasePath: databasePath,
            integrations: Dictionary(integrations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }),
            events: events, policy: policy)
        snapshot.connections = connections
        snapshot.unreadable = unreadable
        let tally = StatusTally(snapshot.connections, inFlight: [], policy: policy, at: now)
        inner = Mutex(Inner(snapshot: snapshot, index: nil, tally: tally))
    }

    /// Builds the index by id, off the lock: at 100,000 connections it takes tens of milliseconds that the first
    /// frame need not wait for. The engine calls it as its actor starts, before the first refresh.
    func buildIndex() {
        let connections = inner.withLock { state in state.index == nil ? state.snapshot.connections : nil }
        guard let connections else { return }
        let index = Self.index(connections)
        inner.withLock { state in
            // An insert meanwhile built its own index; this one is then out of date.
            if state.index == nil, state.snapshot.connections.count == connections.count {
                state.index = index
                // The snapshot's own lookups by id (parents, `connection(id:)`) scan until they have it.
                state.snapshot.positions = index
            }
        }
    }

    /// The position of connection `id`: from the index, or by a scan before the index is built.
    private static func position(of id: String, in state: Inner) -> Int? {
        if let index = state.index { return index[id] }
        return state.snapshot.connections.firstIndex { $0.id == id }
    }

    private static func index(_ connections: ConnectionList) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(connections.count)
        for (position, connection) in connections.enumerated() where index[connection.id] == nil {
            index[connection.id] = position
        }
        return index
    }

    /// The current state; with `now`, its status counts are brought to that moment first.
    func snapshot(at now: Date? = nil) -> DashboardSnapshot {
        inner.withLock { state in
            if let now, now < state.tally.time {
                // The clock went back (a test's clock, a corrected system clock): count afresh.
                state.tally = StatusTally(
                    state.snapshot.connections, inFlight: state.snapshot.inFlight, policy: state.snapshot.policy,
                    at: now)
            }
            if let now {
                state.tally.advance(to: now, state.snapshot.connections, inFlight: state.snapshot.inFlight)
                state.snapshot.tally = (state.tally.counts, state.tally.time)
            }
            return state.snapshot
        }
    }

    /// Keeps the status counts right after the connection at `position` changed.
    private static func tally(_ state: inout Inner, _ position: Int) {
        let connection = state.snapshot.connections[position]
        if state.tally.knowsParent(of: connection, at: position) {
            state.tally.update(position, state.snapshot.connections, inFlight: state.snapshot.inFlight)
        } else {
            // A connection that names another parent (a re-import): count afresh; rare.
            recount(&state)
        }
        state.snapshot.tally = nil
    }

    /// Counts every connection again at the tally's moment, under the snapshot's policy.
    private static func recount(_ state: inout Inner) {
        state.tally = StatusTally(
            state.snapshot.connections, inFlight: state.snapshot.inFlight, policy: state.snapshot.policy,
            at: state.tally.time)
        state.snapshot.tally = nil
    }

    func connection(_ id: String) -> Connection? {
        inner.withLock { state in Self.position(of: id, in: state).map { state.snapshot.connections[$0] } }
    }

    func integration(_ id: String) -> Integration? { inner.withLock { $0.snapshot.integrations[id] } }

    /// Replaces one connection and appends an event, in one step that readers see whole.
    /// - Parameter landed: the connection's refresh ends with this write: it is no longer shown in flight, in the
    ///   same step rather than in a second one that counts its status again.
    func update(_ connection: Connection, event: HistoryEntry?, landed: Bool = false) {
        inner.withLock { state in
            if landed { state.snapshot.inFlight.remove(connection.id) }
            if let position = Self.position(of: connection.id, in: state) {
                state.snapshot.connections[position] = connection
                Self.tally(&state, position)
            }
            if let event { Self.append(event, to: &state.snapshot) }
            // Only this process's own results come through here; other processes' arrive through merge(events:).
            if event?.kind == .refreshed { state.snapshot.refreshesHere += 1 }
            state.snapshot.version &+= 1
        }
    }

    /// Replaces a connection, or inserts one another process added, keeping the scope-then-id order.
    func upsert(_ connection: Connection) { upsert([connection]) }

    /// Replaces or adds connections another process wrote, in one step: an import of 1,000 new connections into a
    /// fleet of 100,000 moves positions once, and counts and indexes afresh once, not once per connection (which
    /// held a running daemon's actor, and this lock, for minutes).
    func upsert(_ connections: [Connection]) {
        guard !connections.isEmpty else { return }
        inner.withLock { state in
            if state.index == nil, connections.count > 1 {
                state.index = Self.index(state.snapshot.connections)
                state.snapshot.positions = state.index ?? [:]
            }
            var added: [String: Connection] = [:]
            var moved: Set<String> = []
            var countAfresh = false
            for connection in connections {
                guard let position = Self.position(of: connection.id, in: state) else {
                    added[connection.id] = connection
                    continue
                }
                guard state.snapshot.connections[position].scope == connection.scope else {
                    // Another scope puts it elsewhere in list order: out of its place, and in again as a new one.
                    moved.insert(connection.id)
                    added[connection.id] = connection
                    continue
                }
                state.snapshot.connections[position] = connection
                // A connection that names another parent (a re-import) is counted afresh, as an insert is.
                if !countAfresh, state.tally.knowsParent(of: connection, at: position) {
                    state.tally.update(position, state.snapshot.connections, inFlight: state.snapshot.inFlight)
                } else {
                    countAfresh = true
                }
            }
            if !added.isEmpty {
                // Positions move: the new connections go into list order, and the index and the counts start afresh.
                if !moved.isEmpty { state.snapshot.connections.removeAll { moved.contains($0.id) } }
                state.snapshot.connections = ListOrder.merging(Array(added.values), into: state.snapshot.connections)
                state.index = Self.index(state.snapshot.connections)
                state.snapshot.positions = state.index ?? [:]
                countAfresh = true
            }
            if countAfresh { Self.recount(&state) }
            state.snapshot.tally = nil
            state.snapshot.version &+= 1
        }
    }

    /// Drops the connections another process deleted (``Store/deleteConnections(_:force:user:at:)``); returns the
    /// ids that were here.
    @discardableResult
    func remove(_ ids: [String]) -> [String] {
        inner.withLock { state in
            let here = ids.filter { Self.position(of: $0, in: state) != nil }
            guard !here.isEmpty else { return [] }
            let gone = Set(here)
            // Positions move: the index and the counts start afresh, as for an insert (an operator's delete; rare).
            state.snapshot.connections.removeAll { gone.contains($0.id) }
            state.index = Self.index(state.snapshot.connections)
            state.snapshot.positions = state.index ?? [:]
            for id in here {
                state.snapshot.inFlight.remove(id)
                state.snapshot.histories[id] = nil
            }
            Self.recount(&state)
            state.snapshot.version &+= 1
            return here
        }
    }

    /// Names `found` as unreadable and stops naming `readable` (read since, or deleted); a new version only when
    /// that changes anything.
    func setUnreadable(_ found: [UnreadableConnection], readable: [String]) {
        guard !found.isEmpty || !readable.isEmpty else { return }
        inner.withLock { state in
            // Called at each look at the store with every row read: nothing to do while none is unreadable.
            guard !found.isEmpty || !state.snapshot.unreadable.isEmpty else { return }
            let cleared = Set(readable).union(found.map(\.id))
            let kept = state.snapshot.unreadable.filter { !cleared.contains($0.id) }
            let updated = Store.byID(kept + found)
            guard updated != state.snapshot.unreadable else { return }
            state.snapshot.unreadable = updated
            state.snapshot.version &+= 1
        }
    }

    /// Takes the store's integrations; a new version only when they changed.
    func setIntegrations(_ integrations: [Integration]) {
        let table = Dictionary(integrations.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        inner.withLock { state in
            guard state.snapshot.integrations != table else { return }
            state.snapshot.integrations = table
            state.snapshot.version &+= 1
        }
    }

    /// Appends history entries read from the store, skipping those this process already showed.
    func merge(events: [HistoryEntry]) {
        guard !events.isEmpty else { return }
        inner.withLock { state in
            var added = false
            for event in events where Self.position(ofSame: event, in: state.snapshot.events) == nil {
                var event = event
                event.byAnotherProcess = true
                Self.append(event, to: &state.snapshot)
                added = true
            }
            if added { state.snapshot.version &+= 1 }
        }
    }

    /// Where `events` (in time order) already holds `event`: the same connection and kind at the same time, which
    /// went through the database as floating point and so is equal within a millisecond.
    /// - Parameter merged: only an entry the history feed brought counts.
    private static func position(ofSame event: HistoryEntry, in events: [HistoryEntry], merged: Bool = false) -> Int? {
        var position = events.endIndex
        while position > events.startIndex {
            position -= 1
            let shown = events[position]
            let apart = shown.at.timeIntervalSince(event.at)
            if apart <= -0.001 { return nil }
            if apart < 0.001, shown.connectionID == event.connectionID, shown.kind == event.kind,
                !merged || shown.byAnotherProcess
            {
                return position
            }
        }
        return nil
    }

    func append(event: HistoryEntry) {
        inner.withLock { state in
            Self.append(event, to: &state.snapshot)
            state.snapshot.version &+= 1
        }
    }

    /// Adds `event` to the event pane in time order, and to the arrivals that ``EventCursor`` reads.
    private static func append(_ event: HistoryEntry, to snapshot: inout DashboardSnapshot) {
        if !event.byAnotherProcess, let merged = position(ofSame: event, in: snapshot.events, merged: true) {
            // This process stored the entry, and the history feed read it back before it was shown here (the prober
            // and a re-auth write from outside the refresh actor): one line, this process's.
            snapshot.events.remove(at: merged)
        }
        // Another process's events come through the history feed, often after newer ones of this process: each goes
        // where its time puts it. Equal times keep the order they came in; this process's own usually go last.
        var position = snapshot.events.endIndex
        while position > snapshot.events.startIndex, snapshot.events[position - 1].at > event.at { position -= 1 }
        snapshot.events.insert(event, at: position)
        if snapshot.events.count > eventLimit { snapshot.events.removeFirst(snapshot.events.count - eventLimit) }
        snapshot.arrivals.append(event)
        snapshot.eventsAppended += 1
        // Trimmed a window at a time: on average an event moves one entry, not the whole window.
        if snapshot.arrivals.count > 2 * eventLimit {
            snapshot.arrivals.removeFirst(snapshot.arrivals.count - eventLimit)
        }
    }

    func setInFlight(_ id: String, _ flying: Bool) {
        inner.withLock { state in
            // Already so (a refresh that landed through `update`): nothing to count again.
            guard state.snapshot.inFlight.contains(id) != flying else { return }
            if flying { state.snapshot.inFlight.insert(id) } else { state.snapshot.inFlight.remove(id) }
            if let position = Self.position(of: id, in: state) { Self.tally(&state, position) }
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
            // Lead windows move with the policy: every connection's status and next change may differ.
            Self.recount(&state)
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

    /// Shows `notice` unless another is shown.
    func offerNotice(_ notice: String) {
        inner.withLock { state in
            guard state.snapshot.notice == nil else { return }
            state.snapshot.notice = notice
            state.snapshot.version &+= 1
        }
    }

    func setOutages(_ outages: [ProviderOutage]) {
        inner.withLock { state in
            guard state.snapshot.outages != outages else { return }
            state.snapshot.outages = outages
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
