import Foundation
import TokentopCore

/// The rows inside one scope group: derived connections beneath their parent, delegated JWT bearer connections
/// beneath the key that mints them, and workspace connections beneath a heading per workspace.
extension RowList {
    /// What a connection hangs from inside its group.
    private enum Holder: Hashable {
        /// A connection shown in this group: its index.
        case member(Int)
        /// A parent from another group, or one the filter hides: shown as context above its children.
        case context(Int)
        /// An integration whose private key mints the delegated tokens (Google domain-wide delegation).
        case key(String)
    }

    /// The rows of `scope`'s group below its header, for `bucket` (the group's shown connections, already sorted).
    /// `parents` maps a child's position to its parent's (``RowOrder/parents``).
    static func groupRows(
        _ scope: IdentityScope, bucket: [Int], snapshot: DashboardSnapshot, parents: [Int: Int], sort: SortOrder
    ) -> [(Row, TreeMark)] {
        guard scope == .workspace else { return tree(bucket, snapshot: snapshot, parents: parents, scope: scope) }
        // One heading per workspace, in name order for the name orders, else where its first connection sorts.
        var order: [String] = []
        var members: [String: [Int]] = [:]
        for index in bucket {
            let name = snapshot.connections[index].workspaceName ?? snapshot.connections[index].subject
            if members[name] == nil { order.append(name) }
            members[name, default: []].append(index)
        }
        if sort == .group || sort == .name { order.sort() }
        var rows: [(Row, TreeMark)] = []
        for name in order {
            let shown = members[name] ?? []
            let people = Set(shown.flatMap { snapshot.connections[$0].members }).count
            let title = "  workspace \(name)" + (people > 0 ? " · \(people) member\(people == 1 ? "" : "s")" : "")
            rows.append((.subgroup(title, shown: shown.count), .none))
            rows += tree(shown, snapshot: snapshot, parents: parents, scope: scope)
        }
        return rows
    }

    /// Connections in `sorted` order, each child beneath its holder; a holder stands where its first member sorts.
    private static func tree(
        _ sorted: [Int], snapshot: DashboardSnapshot, parents allParents: [Int: Int], scope: IdentityScope
    ) -> [(Row, TreeMark)] {
        let connections = snapshot.connections
        var parents: [Int: Int] = [:]
        if !allParents.isEmpty {
            for index in sorted {
                if let parent = allParents[index] { parents[index] = parent }
            }
        }
        // Most groups hold no tree: their rows are the sorted connections, without hashing each one.
        if parents.isEmpty, scope != .delegated || !sorted.contains(where: { connections[$0].grant == .jwtBearer }) {
            return sorted.map { (.connection($0), .none) }
        }
        // FIXME: a group with trees hashes each shown connection on every rebuild, and tokentop-bench's fleet has no
        // derived or JWT bearer connections, so this path's cost at 100,000 connections is not measured yet.
        let shown = parents.isEmpty ? [] : Set(sorted)
        // A connection that is itself a parent here stays a root, so that its children can hang beneath it.
        let parentsHere = Set(parents.values.filter(shown.contains))
        var holders: [Int: Holder] = [:]
        var held: [Holder: [Int]] = [:]
        for index in sorted {
            let connection = connections[index]
            let holder: Holder?
            if let parent = parents[index] {
                holder = shown.contains(parent) ? .member(parent) : .context(parent)
            } else if scope == .delegated, connection.grant == .jwtBearer, !parentsHere.contains(index) {
                holder = .key(connection.integrationID)
            } else {
                holder = nil
            }
            if let holder {
                holders[index] = holder
                held[holder, default: []].append(index)
            }
        }
        var rows: [(Row, TreeMark)] = []
        var placed: Set<Holder> = []
        func place(_ holder: Holder, heading: Row?) {
            guard placed.insert(holder).inserted else { return }
            if let heading { rows.append((heading, .none)) }
            let children = held[holder] ?? []
            for (offset, child) in children.enumerated() {
                rows.append((.connection(child), offset == children.count - 1 ? .last : .branch))
            }
        }
        for index in sorted {
            switch holders[index] {
            case nil:
                rows.append((.connection(index), .none))
                place(.member(index), heading: nil)
            case .member:
                continue
            case .context(let parent):
                place(.context(parent), heading: .context(parent))
            case .key(let integrationID):
                let count = held[.key(integrationID)]?.count ?? 0
                place(.key(integrationID), heading: .subgroup(keyTitle(integrationID, snapshot), shown: count))
            }
        }
        return rows
    }

    /// `  google-dwd · key of svc@example.iam`: the integration whose key mints the tokens beneath it.
    private static func keyTitle(_ integrationID: String, _ snapshot: DashboardSnapshot) -> String {
        guard let integration = snapshot.integrations[integrationID] else { return "  \(integrationID)" }
        return "  \(integrationID) · key of \(integration.clientID)"
    }

    /// The row to start showing at so that the headings directly above `position` stay on screen with it.
    func headingStart(above position: Int) -> Int {
        var start = position
        while start > 0 {
            switch rows[start - 1] {
            case .group, .subgroup, .context: start -= 1
            case .connection: return start
            }
        }
        return start
    }
}
