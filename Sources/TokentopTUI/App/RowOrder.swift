import Foundation
import TokentopCore

/// Each scope's connections in the order one sort shows them, as positions in the snapshot.
///
/// Sorting is the costly part of building rows, so it is done once per snapshot version and sort, and a scope or
/// filter change reuses it. An order that depends only on scope and id (``SortOrder/group``, ``SortOrder/name``)
/// also survives a new version that left every connection in its place and in its tree, as a refresh does.
struct RowOrder {
    let sort: SortOrder
    private(set) var version: UInt64
    /// Per scope ordinal: positions in display order.
    let buckets: [[Int]]
    /// Per scope ordinal: how many connections the scope has.
    let totals: [Int]
    /// Each connection's parent's position, by position; -1 for one without a parent in the snapshot.
    let parentOf: [Int32]
    /// Whether any connection's parent is in the snapshot.
    let hasParents: Bool
    /// Each delegated JWT bearer connection's key number (into ``keyIntegrations``), by position; -1 for the others.
    let keyOf: [Int32]
    /// The integrations whose keys mint delegated JWT bearer tokens, numbered.
    let keyIntegrations: [String]
    /// The positions of every connection's children, by parent id, in snapshot order.
    let children: [String: [Int]]
    /// The connections this order was last checked against, kept so that a new version's unchanged chunks are
    /// known by identity (``ConnectionList/positionsChanged(since:)``).
    private var checked: ConnectionList
    /// The ids and scopes in snapshot order, to tell whether a new version moved anything.
    private let ids: [String]
    private let scopes: [Int]
    /// What places each connection in its group's tree, in snapshot order: a change means new rows.
    private let trees: [TreeFacts]
    /// Each integration's client id, which the delegated key headings show.
    private let clients: [String: String]
    /// The workspace group's headings, numbered in snapshot order of their first connection, with what the rows
    /// need of them: a heading's number for each position (-1 outside the workspace group).
    let headingOf: [Int32]
    let headings: [WorkspaceHeading]
    /// The heading numbers in name order.
    let headingsByName: [Int32]
    /// Each workspace connection's members, numbered across the snapshot (`memberNumberCount` numbers), by position.
    let memberNumbers: [Int: [Int32]]
    let memberNumberCount: Int

    /// One workspace heading: the workspace's name (or the subject of a connection that names none), how many
    /// connections stand under it, and how many distinct members they list together.
    struct WorkspaceHeading {
        var name: String
        var size: Int
        var members: Int
    }

    private struct TreeFacts: Equatable {
        var parentID: String?
        /// A workspace connection's heading and members; nil and empty in the other groups.
        var heading: String?
        var members: [String]
        var grant: GrantKind
        /// A delegated JWT bearer connection's integration, whose key heads its group; nil for the others.
        var keyIntegration: String?

        init(_ connection: Connection) {
            parentID = connection.parentID
            let workspace = connection.scope == .workspace
            heading = workspace ? connection.workspaceName ?? connection.subject : nil
            members = workspace ? connection.members : []
            grant = connection.grant
            keyIntegration = Self.heldByKey(connection) ? connection.integrationID : nil
        }

        /// Whether `connection` hangs beneath the key of its integration in the delegated group.
        static func heldByKey(_ connection: Connection) -> Bool {
            connection.scope == .delegated && connection.grant == .jwtBearer
        }

        /// Whether `connection` has these facts, without copying them out of it.
        func matches(_ connection: Connection) -> Bool {
            guard grant == connection.grant, parentID == connection.parentID else { return false }
            if let keyIntegration, keyIntegration != connection.integrationID { return false }
            guard connection.scope == .workspace else { return heading == nil }
            return heading == connection.workspaceName ?? connection.subject && members == connection.members
        }
    }

    init(snapshot: DashboardSnapshot, sort: SortOrder, now: Date) {
        self.sort = sort
        version = snapshot.version
        let connections = snapshot.connections
        var buckets = Array(repeating: [Int](), count: IdentityScope.allCases.count)
        var ids: [String] = []
        var scopes: [Int] = []
        var trees: [TreeFacts] = []
        var children: [String: [Int]] = [:]
        ids.reserveCapacity(connections.count)
        scopes.reserveCapacity(connections.count)
        trees.reserveCapacity(connections.count)
        for position in connections.indices {
            let connection = connections[position]
            buckets[connection.scope.ordinal].append(position)
            ids.append(connection.id)
            scopes.append(connection.scope.ordinal)
            trees.append(TreeFacts(connection))
            if let parentID = connection.parentID { children[parentID, default: []].append(position) }
        }
        // Parents are found by one more pass only when some connection names one: hashing every id costs
        // milliseconds at 100,000 connections that a fleet without derived tokens need not pay.
        var parentOf = [Int32](repeating: -1, count: connections.count)
        var hasParents = false
        if !children.isEmpty {
            for (position, id) in ids.enumerated() {
                guard let held = children[id] else { continue }
                for child in held where parentOf[child] < 0 {
                    parentOf[child] = Int32(position)
                    hasParents = true
                }
            }
        }
        (self.parentOf, self.hasParents) = (parentOf, hasParents)
        (keyOf, keyIntegrations) = Self.keyNumbers(trees)
        self.children = children
        self.trees = trees
        let workspaces = Self.workspaceHeadings(trees)
        (headingOf, headings, memberNumbers, memberNumberCount) = workspaces
        headingsByName = workspaces.1.indices.sorted { workspaces.1[$0].name < workspaces.1[$1].name }.map { Int32($0) }
        clients = snapshot.integrations.mapValues(\.clientID)
        totals = buckets.map(\.count)
        if let order = Self.ordering(sort, snapshot: snapshot, now: now) {
            for index in buckets.indices { buckets[index].sort(by: order) }
        }
        self.buckets = buckets
        checked = connections
        self.ids = ids
        self.scopes = scopes
    }

    /// Takes `snapshot` when this order still holds for it; false when it must be built again.
    mutating func adopt(_ snapshot: DashboardSnapshot, sort: SortOrder) -> Bool {
        guard sort == self.sort else { return false }
        if snapshot.version == version { return true }
        guard sort == .group || sort == .name, snapshot.connections.count == ids.count else { return false }
        guard clients == snapshot.integrations.mapValues(\.clientID) else { return false }
        // Only the chunks the new version rewrote are looked at, each connection read in place by position:
        // iterating would copy each one, a retain per string.
        let connections = snapshot.connections
        guard let changed = connections.positionsChanged(since: checked) else { return false }
        for range in changed {
            for position in range {
                guard connections[position].id == ids[position],
                    connections[position].scope.ordinal == scopes[position],
                    trees[position].matches(connections[position])
                else { return false }
            }
        }
        version = snapshot.version
        checked = connections
        return true
    }

    /// The grant of the connection at `position`.
    func grant(at position: Int) -> GrantKind { trees[position].grant }

    /// The key numbers of `trees`: see ``keyOf`` and ``keyIntegrations``.
    private static func keyNumbers(_ trees: [TreeFacts]) -> ([Int32], [String]) {
        var keyOf = [Int32](repeating: -1, count: trees.count)
        var integrations: [String] = []
        var numbers: [String: Int32] = [:]
        for (position, facts) in trees.enumerated() {
            guard let integration = facts.keyIntegration else { continue }
            if let number = numbers[integration] {
                keyOf[position] = number
            } else {
                keyOf[position] = Int32(integrations.count)
                numbers[integration] = Int32(integrations.count)
                integrations.append(integration)
            }
        }
        return (keyOf, integrations)
    }

    /// The workspace headings of `trees`: see ``headingOf``, ``headings`` and ``memberNumbers``.
    private static func workspaceHeadings(
        _ trees: [TreeFacts]
    ) -> ([Int32], [WorkspaceHeading], [Int: [Int32]], Int) {
        var headingOf = [Int32](repeating: -1, count: trees.count)
        var headings: [WorkspaceHeading] = []
        var numbers: [String: Int32] = [:]
        var memberNumbers: [Int: [Int32]] = [:]
        var members: [String: Int32] = [:]
        var headingMembers: [Set<Int32>] = []
        for (position, facts) in trees.enumerated() {
            guard let name = facts.heading else { continue }
            let number: Int32
            if let known = numbers[name] {
                number = known
            } else {
                number = Int32(headings.count)
                numbers[name] = number
                headings.append(WorkspaceHeading(name: name, size: 0, members: 0))
                headingMembers.append([])
            }
            headingOf[position] = number
            headings[Int(number)].size += 1
            guard !facts.members.isEmpty else { continue }
            let numbered = facts.members.map { member in
                if let known = members[member] { return known }
                let next = Int32(members.count)
                members[member] = next
                return next
            }
            memberNumbers[position] = numbered
            headingMembers[Int(number)].formUnion(numbered)
        }
        for index in headings.indices { headings[index].members = headingMembers[index].count }
        return (headingOf, headings, memberNumbers, members.count)
    }

    /// The comparison for `sort` over positions in the snapshot; nil keeps the snapshot's order.
    private static func ordering(
        _ sort: SortOrder, snapshot: DashboardSnapshot, now: Date
    ) -> ((Int, Int) -> Bool)? {
        let connections = snapshot.connections
        switch sort {
        case .group:
            return nil
        case .name:
            let ids = connections.map(\.id)
            return { ids[$0] < ids[$1] }
        case .expiry:
            let ids = connections.map(\.id)
            let ends = connections.map { $0.countdownEnd ?? .distantFuture }
            return { lhs, rhs in ends[lhs] != ends[rhs] ? ends[lhs] < ends[rhs] : ids[lhs] < ids[rhs] }
        case .status:
            // Statuses are taken at build time: a row whose status changes by the clock alone keeps its place until
            // the next snapshot version, which the actor's own events bring within seconds.
            let ids = connections.map(\.id)
            let ends = connections.map { $0.countdownEnd ?? .distantFuture }
            let urgency = connections.map { snapshot.status(of: $0, at: now).urgency }
            return { lhs, rhs in
                if urgency[lhs] != urgency[rhs] { return urgency[lhs] < urgency[rhs] }
                return ends[lhs] != ends[rhs] ? ends[lhs] < ends[rhs] : ids[lhs] < ids[rhs]
            }
        }
    }
}

extension Connection {
    /// What the EXPIRES column counts down to: nothing for a revoked credential, which sorts with those that
    /// never expire.
    fileprivate var countdownEnd: Date? { revokedAt == nil ? expiresAt : nil }
}
