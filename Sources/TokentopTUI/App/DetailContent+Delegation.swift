import Foundation
import TokentopCore

/// The detail view's facts about parents, children, keys and workspaces.
extension DetailContent {
    /// How many children the detail view names before it says how many more there are.
    static let childrenNamed = 8

    /// A child names its parent and the parent's status, and why the parent holds it back; a parent counts its
    /// children; a delegated JWT bearer connection names the key that mints it.
    func delegationFacts(_ connection: Connection, into builder: inout Builder) {
        if let parentID = connection.parentID {
            if let parent = snapshot.parent(of: connection) {
                let status = snapshot.status(of: parent, at: now)
                builder.fact(
                    "parent",
                    "\(parentID)  \(status.symbol) \(status.rawValue)  (\(parent.scope.rawValue) · "
                        + "\(parent.subject))", role: .status(status))
            } else {
                builder.fact("parent", "\(parentID) (missing from the database)", role: .error)
            }
            if let block = snapshot.parentBlock(of: connection, at: now) {
                builder.fact("held back by parent", block.reason, role: block.needsHuman ? .error : .row)
            } else if connection.grant.derivesFromParent {
                builder.fact("renews from", "\(parentID)'s access token (\(connection.grant.rawValue))")
            }
        }
        if connection.grant == .jwtBearer, let integration = snapshot.integrations[connection.integrationID] {
            builder.fact("minted with", "the private key of \(integration.clientID) (integration \(integration.id))")
        }
        guard !children.isEmpty else { return }
        let ids = children.prefix(Self.childrenNamed).map { snapshot.connections[$0].id }
        let more = children.count > ids.count ? ", and \(children.count - ids.count) more" : ""
        let blocked = children.filter { index in
            snapshot.parentBlock(of: snapshot.connections[index], at: now) != nil
        }.count
        let held = blocked > 0 ? "; \(blocked) held back by this connection's status" : ""
        builder.fact(
            "derived",
            counted(children.count, "connection") + ": "
                + ids.joined(separator: ", ") + more + held)
    }

    /// A workspace's name and who shares the credential.
    func workspaceFacts(_ connection: Connection, into builder: inout Builder) {
        guard let workspace = connection.workspaceName else { return }
        builder.fact("workspace", workspace)
        builder.fact("members", connection.members.isEmpty ? "none listed" : connection.members.joined(separator: ", "))
    }
}
