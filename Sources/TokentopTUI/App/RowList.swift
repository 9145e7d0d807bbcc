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
        /// A sub-heading inside a group: a workspace, or the key that mints the delegated tokens beneath it; its
        /// title is ``RowList/titles``[title]. No row holds a string, so the 100,000 rows of a fleet are copied and
        /// freed as plain memory.
        case subgroup(title: Int, shown: Int)
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

    private(set) var query: Query
    let rows: [Row]
    /// The sub-headings' titles, by the number their rows carry.
    let titles: [String]
    /// Each row's place in its group's tree, parallel to ``rows``.
    let marks: [TreeMark]
    /// The indexes of every connection's children in the snapshot, filtered or not, by parent id.
    let childrenByParent: [String: [Int]]
    /// The row position of each shown connection, top to bottom; the cursor moves along these.
    let connectionPositions: [Int]
    /// For each connection in the snapshot, its index in ``connectionPositions``, or -1 when it is not shown.
    ///
    /// An array rather than a dictionary by id: hashing every id made each rebuild cost tens of milliseconds at
    /// 100,000 connections.
    private let ordinals: [Int32]

    /// An empty list, for a dashboard that has not seen a snapshot.
    init() {
        query = Query(version: .max, filter: "", scope: nil, sort: .group)
        rows = []
        titles = []
        marks = []
        childrenByParent = [:]
        connectionPositions = []
        ordinals = []
    }

    /// Builds the rows from `order`; `matches` are the filter's matching positions (ascending), nil for no filter.
    ///
    /// A filter or scope key rebuilds every shown row, so nothing here reads a connection: what places a row comes
    /// from `order`, built once per snapshot version.
    init(snapshot: DashboardSnapshot, query: Query, order: RowOrder, matches: [Int]?) {
        self.query = query
        var shown: [Bool]?
        if let matches {
            var flags = [Bool](repeating: false, count: snapshot.connections.count)
            for position in matches { flags[position] = true }
            shown = flags
        }
        // Group headers of empty scopes show the whole picture when nothing narrows it.
        let showEmptyGroups = query.filter.isEmpty && query.scope == nil && !snapshot.connections.isEmpty
        // Room for every row at once: growing by exact reservations group by group would copy the rows again for
        // each group, and leave the copies to the allocator.
        let most = (query.scope.map { order.totals[$0.ordinal] } ?? snapshot.connections.count)
        let shownAtMost = min(matches?.count ?? most, most)
        let rowsAtMost = shownAtMost + IdentityScope.allCases.count + order.headings.count
        var rows: [Row] = []
        rows.reserveCapacity(rowsAtMost)
        var marks: [TreeMark] = []
        marks.reserveCapacity(rowsAtMost)
        var titles: [String] = []
        var positions: [Int] = []
        positions.reserveCapacity(shownAtMost)
        var ordinals = [Int32](repeating: -1, count: snapshot.connections.count)
        for scope in IdentityScope.allCases {
            if let scopeFilter = query.scope, scopeFilter != scope { continue }
            if snapshot.connections.isEmpty { continue }
            let bucket = order.buckets[scope.ordinal]
            let visible = shown.map { flags in bucket.filter { flags[$0] } } ?? bucket
            if visible.isEmpty, !showEmptyGroups, query.scope == nil { continue }
            rows.append(.group(scope, shown: visible.count, total: order.totals[scope.ordinal]))
            marks.append(.none)
            let first = rows.count
            Self.appendGroupRows(
                scope, bucket: visible, snapshot: snapshot, order: order, sort: query.sort,
                to: &rows, marks: &marks, titles: &titles)
            for position in first..<rows.count {
                if case .connection(let index) = rows[position] {
                    ordinals[index] = Int32(positions.count)
                    positions.append(position)
                }
            }
        }
        self.rows = rows
        self.titles = titles
        self.marks = marks
        childrenByParent = order.children
        connectionPositions = positions
        self.ordinals = ordinals
    }

    /// The ordinal (index in ``connectionPositions``) of the connection at snapshot position `index`, when shown.
    func ordinal(ofConnectionAt index: Int) -> Int? {
        guard index >= 0, index < ordinals.count, ordinals[index] >= 0 else { return nil }
        return Int(ordinals[index])
    }

    /// The same rows for a newer snapshot version that moved no connection and changed no searchable field.
    func carried(to version: UInt64) -> RowList {
        var list = self
        list.query.version = version
        return list
    }
}
