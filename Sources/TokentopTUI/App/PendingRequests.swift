import Foundation
import TokentopCore

/// The refreshes and revocations the user asked for whose outcome no snapshot has shown yet.
///
/// A revoke can take seconds at a slow provider; until the core shows something, the row says `… revoking` and
/// the event pane says the request was made. A request is settled for a connection when a snapshot shows it
/// refreshing (for a refresh) or revoked (for a revoke), when a new event about it arrives (a success or a
/// failure, which the core always reports), or when the connection is gone.
struct PendingRequests {
    /// What was asked for.
    enum Kind: String {
        case refresh, revoke
    }

    /// One key press's request, with the connections still waiting for an outcome.
    struct Request: Equatable {
        let kind: Kind
        /// When it was asked for, by the dashboard's clock.
        let at: Date
        /// Ids still waiting, in the order they were asked for.
        var ids: [String]
    }

    /// Open requests, oldest first; each has at least one id.
    private(set) var requests: [Request] = []
    private var kindByID: [String: Kind] = [:]
    /// The newest event about each waiting connection when it was asked for; a different one settles it.
    private var lastEventAtRequest: [String: HistoryEntry] = [:]

    var isEmpty: Bool { requests.isEmpty }

    /// What connection `id` waits for, if anything.
    func kind(of id: String) -> Kind? { kindByID[id] }

    /// Records a request for `ids`; an id already waiting for something else now waits for this.
    mutating func add(_ kind: Kind, ids: [String], at date: Date, snapshot: DashboardSnapshot) {
        let asked = Set(ids)
        remove(asked)
        for event in snapshot.events where asked.contains(event.connectionID) {
            lastEventAtRequest[event.connectionID] = event
        }
        for id in ids { kindByID[id] = kind }
        requests.append(Request(kind: kind, at: date, ids: ids))
        settle(with: snapshot)
    }

    /// Drops every connection that `snapshot` shows an outcome for.
    ///
    /// One pass over the snapshot's connections, so it runs once per snapshot version and only while a request is
    /// open.
    mutating func settle(with snapshot: DashboardSnapshot) {
        guard !requests.isEmpty else { return }
        var settled: Set<String> = []
        var newestEvent: [String: HistoryEntry] = [:]
        for event in snapshot.events where kindByID[event.connectionID] != nil {
            newestEvent[event.connectionID] = event
        }
        for (id, event) in newestEvent where event != lastEventAtRequest[id] { settled.insert(id) }
        var present: Set<String> = []
        for connection in snapshot.connections {
            guard let kind = kindByID[connection.id] else { continue }
            present.insert(connection.id)
            switch kind {
            case .refresh: if snapshot.inFlight.contains(connection.id) { settled.insert(connection.id) }
            case .revoke: if connection.revokedAt != nil { settled.insert(connection.id) }
            }
        }
        settled.formUnion(kindByID.keys.filter { !present.contains($0) })
        remove(settled)
    }

    private mutating func remove(_ ids: Set<String>) {
        guard !ids.isEmpty else { return }
        for id in ids {
            kindByID[id] = nil
            lastEventAtRequest[id] = nil
        }
        for index in requests.indices { requests[index].ids.removeAll { ids.contains($0) } }
        requests.removeAll { $0.ids.isEmpty }
    }
}
