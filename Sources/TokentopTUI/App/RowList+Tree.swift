import Foundation
import TokentopCore

/// The rows inside one scope group: derived connections beneath their parent, delegated JWT bearer connections
/// beneath the key that mints them, and workspace connections beneath a heading per workspace.
extension RowList {
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
    ///
    /// Holders are numbered, not hashed: a parent shown in this group by its position, a parent from elsewhere (or
    /// hidden by the filter) by its position after all of those, a key after both; the held connections are grouped
    /// by one sort of their holders' numbers. A rebuild so costs the group's rows and a bit per connection, for a
    /// group of trees as for a flat one (hashing each row and key name had made a delegated group of 14,000 rows
    /// cost 20 ms a key at 100,000 connections).
    private static func appendTree(
        _ sorted: [Int], snapshot: DashboardSnapshot, order: RowOrder, scope: IdentityScope,
        to allRows: inout [Row], marks: inout [TreeMark], titles: inout [String]
    ) {
        let keyed = scope == .delegated && !order.keyIntegrations.isEmpty
        let (parentOf, keyOf) = (order.parentOf, order.keyOf)
        // Most groups hold no tree (a workspace group calls here once per heading): their rows are the sorted
        // connections, found so without a bit per connection.
        let hasParent = order.hasParents && sorted.contains { parentOf[$0] >= 0 }
        guard hasParent || keyed && sorted.contains(where: { keyOf[$0] >= 0 }) else {
            for index in sorted { allRows.append(.connection(index)) }
            marks.append(contentsOf: repeatElement(.none, count: sorted.count))
            return
        }
        let count = parentOf.count
        var shown = Bits(count: hasParent ? count : 0)
        var parentsHere = Bits(count: hasParent ? count : 0)
        if hasParent {
            for index in sorted { shown.insert(index) }
            // A connection that is itself a parent here stays a root, so that its children can hang beneath it.
            for index in sorted where parentOf[index] >= 0 && shown.contains(Int(parentOf[index])) {
                parentsHere.insert(Int(parentOf[index]))
            }
        }
        // Each place's holder number, -1 for a root; and the held places, grouped by holder.
        var holderAt = [Int](repeating: -1, count: sorted.count)
        var held: [(holder: Int, place: Int)] = []
        for (place, index) in sorted.enumerated() {
            let parent = hasParent ? Int(parentOf[index]) : -1
            if parent >= 0 {
                holderAt[place] = shown.contains(parent) ? parent : count + parent
            } else if keyed, keyOf[index] >= 0, !parentsHere.contains(index) {
                holderAt[place] = 2 * count + Int(keyOf[index])
            } else {
                continue
            }
            held.append((holderAt[place], place))
        }
        held.sort { $0.holder != $1.holder ? $0.holder < $1.holder : $0.place < $1.place }
        // Where each held place's holder starts and ends in `held`.
        var runOf = [Range<Int>](repeating: 0..<0, count: sorted.count)
        var start = 0
        while start < held.count {
            var end = start + 1
            while end < held.count, held[end].holder == held[start].holder { end += 1 }
            for entry in start..<end { runOf[held[entry].place] = start..<end }
            start = end
        }
        // Holders already placed, by the start of their run in `held`.
        var placed = Bits(count: held.count)
        // A holder's children go beneath its first member's place, after the heading a holder from elsewhere gets.
        func hang(_ run: Range<Int>) {
            guard !run.isEmpty, !placed.contains(run.lowerBound) else { return }
            placed.insert(run.lowerBound)
            let holder = held[run.lowerBound].holder
            if holder >= 2 * count {
                let integrationID = order.keyIntegrations[holder - 2 * count]
                allRows.append(.subgroup(title: titles.count, shown: run.count))
                marks.append(.none)
                titles.append(keyTitle(integrationID, snapshot))
            } else if holder >= count {
                allRows.append(.context(holder - count))
                marks.append(.none)
            }
            for child in run {
                allRows.append(.connection(sorted[held[child].place]))
                marks.append(child == run.upperBound - 1 ? .last : .branch)
            }
        }
        for (place, index) in sorted.enumerated() {
            let holder = holderAt[place]
            if holder < 0 {
                allRows.append(.connection(index))
                marks.append(.none)
                guard parentsHere.contains(index) else { continue }
                let first = firstIndex(of: index, in: held)
                if first < held.count, held[first].holder == index { hang(runOf[held[first].place]) }
            } else if holder >= count {
                hang(runOf[place])
            }
        }
    }

    /// The first place of `holder` in `held`, which is sorted by holder.
    private static func firstIndex(of holder: Int, in held: [(holder: Int, place: Int)]) -> Int {
        var (low, high) = (0, held.count)
        while low < high {
            let middle = (low + high) / 2
            if held[middle].holder < holder { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// A set of small numbers, a bit each.
    private struct Bits {
        private var words: [UInt64]

        init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

        func contains(_ number: Int) -> Bool {
            number / 64 < words.count && words[number / 64] & (1 << UInt64(number % 64)) != 0
        }

        mutating func insert(_ number: Int) { words[number / 64] |= 1 << UInt64(number % 64) }
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
