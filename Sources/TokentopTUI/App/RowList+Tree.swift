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

    /// Appends the rows of `scope`'s group below its header to `rows` and `marks`, for `bucket` (the group's shown
    /// connections, already sorted). What places each row comes from `order`, so no connection is read here.
    static func appendGroupRows(
        _ scope: IdentityScope, bucket: [Int], snapshot: DashboardSnapshot, order: RowOrder, sort: SortOrder,
        to rows: inout [Row], marks: inout [TreeMark], titles: inout [String]
    ) {
        guard scope == .workspace else {
            return appendTree(
                bucket, snapshot: snapshot, order: order, scope: scope, to: &rows, marks: &marks, titles: &titles)
        }
        // One heading per workspace, in name order for the name orders, else where its first connection sorts.
        var shownUnder = [[Int]](repeating: [], count: order.headings.count)
        var firstSeen: [Int32] = []
        for index in bucket {
            let heading = order.headingOf[index]
            guard heading >= 0 else { continue }
            if shownUnder[Int(heading)].isEmpty { firstSeen.append(heading) }
            shownUnder[Int(heading)].append(index)
        }
        let sequence =
            sort == .group || sort == .name ? order.headingsByName.filter { !shownUnder[Int($0)].isEmpty } : firstSeen
        // Members seen under the heading being counted, by member number: stamped with the heading, never cleared.
        var stamp: [Int32] = []
        for heading in sequence {
            let shown = shownUnder[Int(heading)]
            let facts = order.headings[Int(heading)]
            var people = facts.members
            if shown.count != facts.size, people > 0 {
                // Part of the workspace is shown: count the members of that part.
                if stamp.isEmpty { stamp = [Int32](repeating: -1, count: order.memberNumberCount) }
                people = 0
                for index in shown {
                    for member in order.memberNumbers[index] ?? [] where stamp[Int(member)] != heading {
                        stamp[Int(member)] = heading
                        people += 1
                    }
                }
            }
            rows.append(.subgroup(title: titles.count, shown: shown.count))
            titles.append(
                "  workspace \(facts.name)" + (people > 0 ? " · " + counted(people, "member") : ""))
            marks.append(.none)
            appendTree(shown, snapshot: snapshot, order: order, scope: scope, to: &rows, marks: &marks, titles: &titles)
        }
    }

    /// Connections in `sorted` order, each child beneath its holder; a holder stands where its first member sorts.
    private static func appendTree(
        _ sorted: [Int], snapshot: DashboardSnapshot, order: RowOrder, scope: IdentityScope,
        to allRows: inout [Row], marks: inout [TreeMark], titles: inout [String]
    ) {
        let allParents = order.parents
        var parents: [Int: Int] = [:]
        if !allParents.isEmpty {
            for index in sorted {
                if let parent = allParents[index] { parents[index] = parent }
            }
        }
        // Most groups hold no tree: their rows are the sorted connections, without hashing each one.
        if parents.isEmpty, scope != .delegated || !sorted.contains(where: { order.grant(at: $0) == .jwtBearer }) {
            for index in sorted { allRows.append(.connection(index)) }
            marks.append(contentsOf: repeatElement(.none, count: sorted.count))
            return
        }
        // FIXME: a group with trees hashes each shown connection on every rebuild, and tokentop-bench's fleet has no
        // derived or JWT bearer connections, so this path's cost at 100,000 connections is not measured yet.
        let shown = parents.isEmpty ? [] : Set(sorted)
        // A connection that is itself a parent here stays a root, so that its children can hang beneath it.
        let parentsHere = Set(parents.values.filter(shown.contains))
        var holders: [Int: Holder] = [:]
        var held: [Holder: [Int]] = [:]
        for index in sorted {
            let holder: Holder?
            if let parent = parents[index] {
                holder = shown.contains(parent) ? .member(parent) : .context(parent)
            } else if scope == .delegated, order.grant(at: index) == .jwtBearer, !parentsHere.contains(index) {
                holder = .key(snapshot.connections[index].integrationID)
            } else {
                holder = nil
            }
            if let holder {
                holders[index] = holder
                held[holder, default: []].append(index)
            }
        }
        var placed: Set<Holder> = []
        // A holder's children go beneath its first member's place, after the heading a holder from elsewhere gets.
        func place(_ holder: Holder) {
            guard placed.insert(holder).inserted else { return }
            let children = held[holder] ?? []
            switch holder {
            case .member: break
            case .context(let parent):
                allRows.append(.context(parent))
                marks.append(.none)
            case .key(let integrationID):
                allRows.append(.subgroup(title: titles.count, shown: children.count))
                marks.append(.none)
                titles.append(keyTitle(integrationID, snapshot))
            }
            for (offset, child) in children.enumerated() {
                allRows.append(.connection(child))
                marks.append(offset == children.count - 1 ? .last : .branch)
            }
        }
        for index in sorted {
            switch holders[index] {
            case nil:
                allRows.append(.connection(index))
                marks.append(.none)
                place(.member(index))
            case .member:
                continue
            case .context(let parent):
                place(.context(parent))
            case .key(let integrationID):
                place(.key(integrationID))
            }
        }
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
