import Foundation
import TokentopCore

/// The table's rows for one snapshot version, filter, scope and sort: built once, then only read per frame.
struct RowList {
    /// What the rows were built for; a change of any part means a rebuild.
    struct Query: Equatable {
        var version: UInt64
        var filter: String
        var scope: IdentityScope?
        var sort: SortOrder
    }

    enum Row: Equatable {
        /// A group header: the scope, how many of its connections are shown, and how many it has.
        case group(IdentityScope, shown: Int, total: Int)
        /// A sub-heading inside a group: a workspace, or the key that mints the delegated tokens beneath it.
        case subgroup(String, shown: Int)
        /// A parent shown above its children in a group it does not belong to; the cursor skips it.
        case context(Int)
        /// A connection, by its index in the snapshot's `connections`.
        case connection(Int)
    }

    /// Where a row hangs in its group's tree: the glyph before its id.
    enum TreeMark: Equatable {
        case none
        /// `├─`: a child with siblings after it.
        case branch
        /// `└─`: the last child.
        case last
    }

    let query: Query
    let rows: [Row]
    /// Each row's place in its group's tree, parallel to ``rows``.
    let marks: [TreeMark]
    /// The indexes of every connection's children in the snapshot, filtered or not, by parent id.
    let childrenByParent: [String: [Int]]
    /// The row position of each shown connection, top to bottom; the cursor moves along these.
    let connectionPositions: [Int]
    /// Each shown connection's index in ``connectionPositions``.
    let ordinalByID: [String: Int]

    /// An empty list, for a dashboard that has not seen a snapshot.
    init() {
        query = Query(version: .max, filter: "", scope: nil, sort: .group)
        rows = []
        marks = []
        childrenByParent = [:]
        connectionPositions = []
        ordinalByID = [:]
    }

    /// Builds the rows; `search` is the snapshot's index, needed only when the query has a filter.
    init(snapshot: DashboardSnapshot, query: Query, now: Date, search: SearchIndex? = nil) {
        self.query = query
        let needle = Array(SearchIndex.fold(query.filter).utf8)
        let search = query.filter.isEmpty ? nil : (search ?? SearchIndex(snapshot: snapshot))
        var buckets = Array(repeating: [Int](), count: IdentityScope.allCases.count)
        var totals = Array(repeating: 0, count: IdentityScope.allCases.count)
        var children: [String: [Int]] = [:]
        for (index, connection) in snapshot.connections.enumerated() {
            totals[connection.scope.ordinal] += 1
            if let parent = connection.parentID { children[parent, default: []].append(index) }
            if let scope = query.scope, scope != connection.scope { continue }
            if let search, !search.matches(index, needle: needle) { continue }
            buckets[connection.scope.ordinal].append(index)
        }
        let connections = snapshot.connections
        let order = Self.ordering(query.sort, snapshot: snapshot, now: now)
        // Group headers of empty scopes show the whole picture when nothing narrows it.
        let showEmptyGroups = query.filter.isEmpty && query.scope == nil && !connections.isEmpty
        var rows: [Row] = []
        var marks: [TreeMark] = []
        var positions: [Int] = []
        var ordinals: [String: Int] = [:]
        for scope in IdentityScope.allCases {
            var bucket = buckets[scope.ordinal]
            if let scopeFilter = query.scope, scopeFilter != scope { continue }
            if bucket.isEmpty, !showEmptyGroups, query.scope == nil { continue }
            if connections.isEmpty { continue }
            if let order { bucket.sort(by: order) }
            rows.append(.group(scope, shown: bucket.count, total: totals[scope.ordinal]))
            marks.append(.none)
            for (row, mark) in Self.groupRows(scope, bucket: bucket, snapshot: snapshot, sort: query.sort) {
                if case .connection(let index) = row {
                    ordinals[connections[index].id] = positions.count
                    positions.append(rows.count)
                }
                rows.append(row)
                marks.append(mark)
            }
        }
        self.rows = rows
        self.marks = marks
        childrenByParent = children
        connectionPositions = positions
        ordinalByID = ordinals
    }

    /// The comparison for `sort` over indexes into the snapshot's connections; nil keeps the snapshot's order.
    private static func ordering(
        _ sort: SortOrder, snapshot: DashboardSnapshot, now: Date
    ) -> ((Int, Int) -> Bool)? {
        let connections = snapshot.connections
        switch sort {
        case .group:
            return nil
        case .name:
            return { connections[$0].id < connections[$1].id }
        case .expiry:
            return { lhs, rhs in
                let left = connections[lhs].countdownEnd ?? .distantFuture
                let right = connections[rhs].countdownEnd ?? .distantFuture
                return left != right ? left < right : connections[lhs].id < connections[rhs].id
            }
        case .status:
            // Statuses are taken at build time: a row whose status changes by the clock alone keeps its place until
            // the next snapshot version, which the actor's own events bring within seconds.
            let urgency = connections.map { snapshot.status(of: $0, at: now).urgency }
            return { lhs, rhs in
                if urgency[lhs] != urgency[rhs] { return urgency[lhs] < urgency[rhs] }
                let left = connections[lhs].countdownEnd ?? .distantFuture
                let right = connections[rhs].countdownEnd ?? .distantFuture
                return left != right ? left < right : connections[lhs].id < connections[rhs].id
            }
        }
    }
}

extension Connection {
    /// What the EXPIRES column counts down to: nothing for a revoked credential, which sorts with those that
    /// never expire.
    fileprivate var countdownEnd: Date? { revokedAt == nil ? expiresAt : nil }
}
