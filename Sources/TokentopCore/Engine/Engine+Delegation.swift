import Foundation

/// Re-auth prompts of derived connections: a child held back by its parent is restored by acting on the parent.
extension Engine {
    /// The prompt for `connection` when its parent needs a human, or nil when it does not.
    static func parentPrompt(
        for connection: Connection, snapshot: DashboardSnapshot, at now: Date
    ) -> ReauthPrompt? {
        guard let block = snapshot.parentBlock(of: connection, at: now), block.needsHuman else { return nil }
        let who: String
        if let parent = snapshot.parent(of: connection) {
            let parentWho = reauthPrompt(for: parent, at: now, policy: snapshot.policy).who
            who = "\(parentWho), for parent \(parent.id); then \(connection.id) renews by itself"
        } else {
            who = "an operator must import \(block.parentID) again; then \(connection.id) renews by itself"
        }
        return ReauthPrompt(connectionID: connection.id, who: who, reason: block.reason)
    }
}
