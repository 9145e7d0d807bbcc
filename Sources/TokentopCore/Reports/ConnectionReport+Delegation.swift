import Foundation

/// What `list` and `show` say about parents and children.
extension ConnectionReport {
    /// `blocked_by_parent`: null, or the parent, its status and the reason the child shows.
    static func blockFields(_ block: ParentBlock?) -> [(String, JSONWriter.Value)]? {
        block.map { block in
            [
                ("needs_human", .bool(block.needsHuman)), ("parent", .string(block.parentID)),
                ("parent_status", .string(block.parentStatus?.rawValue)), ("reason", .string(block.reason)),
            ]
        }
    }

    /// `show`'s lines for the parent a connection derives from, and the children derived from it.
    static func delegationLines(
        _ connection: Connection, snapshot: DashboardSnapshot, at now: Date
    ) -> [(String, String)] {
        var lines: [(String, String)] = []
        if let parentID = connection.parentID {
            let parentStatus = snapshot.parent(of: connection).map { snapshot.status(of: $0, at: now).rawValue }
            let absent = snapshot.unreadable.contains { $0.id == parentID } ? "cannot be read" : "missing"
            lines.append(("derived from", "\(parentID) (\(parentStatus ?? absent))"))
        }
        if let block = snapshot.parentBlock(of: connection, at: now) { lines.append(("blocked", block.reason)) }
        let children = snapshot.children(of: connection.id)
        if !children.isEmpty {
            let shown = children.prefix(10).joined(separator: ", ") + (children.count > 10 ? ", …" : "")
            lines.append(("derived", "\(children.count): \(shown)"))
        }
        return lines
    }
}
