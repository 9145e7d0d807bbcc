/// Which derived connections hang from which parent, so that a parent's recovery can wake its children.
///
/// Only connections whose token derives from the parent's (on-behalf-of, token exchange) are kept; each update
/// costs O(1), and nothing scans all connections.
struct ParentIndex {
    private var childrenByParent: [String: Set<String>] = [:]
    private var parentByChild: [String: String] = [:]

    /// Records the parent `connection` names now, forgetting the one it named before.
    mutating func note(_ connection: Connection) {
        let parent = connection.grant.derivesFromParent ? connection.parentID : nil
        let before = parentByChild[connection.id]
        guard before != parent else { return }
        if let before {
            childrenByParent[before]?.remove(connection.id)
            if childrenByParent[before]?.isEmpty == true { childrenByParent[before] = nil }
        }
        parentByChild[connection.id] = parent
        if let parent { childrenByParent[parent, default: []].insert(connection.id) }
    }

    /// Forgets a deleted connection, as a child; its children (deleted with it) are forgotten one by one.
    mutating func forget(_ id: String) {
        guard let parent = parentByChild.removeValue(forKey: id) else { return }
        childrenByParent[parent]?.remove(id)
        if childrenByParent[parent]?.isEmpty == true { childrenByParent[parent] = nil }
    }

    /// The ids of the derived connections that hang from `parentID`.
    func children(of parentID: String) -> Set<String> {
        childrenByParent[parentID] ?? []
    }
}
