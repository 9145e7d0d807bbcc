import Foundation

/// Parents and children in a snapshot: derived connections' statuses and reasons, and workspace names.
extension DashboardSnapshot {
    /// The connection called `id`, found through the snapshot's index.
    public func connection(id: String) -> Connection? {
        index(of: id).map { connections[$0] }
    }

    /// The position of connection `id` in `connections`.
    public func index(of id: String) -> Int? {
        if let position = positions[id], position < connections.count, connections[position].id == id {
            return position
        }
        // `connections` is public, and a caller may have changed it without the index: look the slow way.
        return connections.firstIndex { $0.id == id }
    }

    /// The parent of `connection`, when it names one and the snapshot has it.
    public func parent(of connection: Connection) -> Connection? {
        connection.parentID.flatMap { self.connection(id: $0) }
    }

    /// Why `connection` cannot renew because of its parent, or nil when it does not derive from a parent or the
    /// parent can serve it.
    public func parentBlock(of connection: Connection, at now: Date) -> ParentBlock? {
        guard connection.grant.derivesFromParent, let parentID = connection.parentID else { return nil }
        return connection.parentBlock(
            parent: self.connection(id: parentID), at: now, inFlight: inFlight, policy: policy)
    }

    /// The ids of the connections that name `id` as their parent, in snapshot order.
    ///
    /// This reads every connection; the dashboard keeps its own map per snapshot version.
    public func children(of id: String) -> [String] {
        connections.compactMap { $0.parentID == id ? $0.id : nil }
    }

    /// The index of each connection by id.
    static func positions(of connections: [Connection]) -> [String: Int] {
        Dictionary(connections.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension Connection {
    /// The status ``DashboardSnapshot/status(of:at:)`` gives, with the parent already found (nil when missing).
    ///
    /// One function for the snapshot and the engine's running counts (`StatusTally`), so that the header's counts
    /// and the rows never disagree.
    func status(at now: Date, inFlight: Set<String>, policy: RefreshPolicy, parent: Connection?) -> ConnectionStatus {
        status(
            at: now, inFlight: inFlight.contains(id), policy: policy,
            parentBlock: parentBlock(parent: parent, at: now, inFlight: inFlight, policy: policy))
    }

    /// Why this connection cannot renew because of `parent`, or nil when it derives from none or the parent serves.
    func parentBlock(parent: Connection?, at now: Date, inFlight: Set<String>, policy: RefreshPolicy) -> ParentBlock? {
        guard grant.derivesFromParent, let parentID else { return nil }
        return ParentBlock(
            parent: parent, parentID: parentID,
            parentStatus: parent.map { $0.status(at: now, inFlight: inFlight.contains($0.id), policy: policy) })
    }

    /// The workspace the dashboard groups this connection under: its `workspace`, or for a workspace-scope
    /// connection without one, its subject.
    public var workspaceName: String? {
        workspace ?? (scope == .workspace ? subject : nil)
    }
}
