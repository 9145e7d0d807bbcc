import Foundation

extension GrantKind {
    /// Whether the grant mints its token from the parent connection's access token (on-behalf-of, token exchange),
    /// so that the parent's troubles stop it too.
    public var derivesFromParent: Bool { self == .onBehalfOf || self == .tokenExchange }
}

/// Why a derived connection (on-behalf-of, token exchange) cannot renew, or must wait, because of its parent.
///
/// It is derived from the parent's stored facts each time, never stored on the child: when the parent recovers,
/// every child recovers with it, and a broken parent costs its children no request to the provider.
public struct ParentBlock: Sendable, Equatable {
    /// The parent connection's id.
    public var parentID: String
    /// The parent's status; nil when the parent is missing.
    public var parentStatus: ConnectionStatus?
    /// One line that says why, for example `parent acme-admin needs re-auth: invalid_grant (HTTP 400): …`.
    public var reason: String
    /// Whether a human must act on the parent first; otherwise the child waits for the refresh actor.
    public var needsHuman: Bool

    /// Why a child whose parent `parentID` is not in the fleet waits: gone, or its row cannot be read.
    static func missing(_ parentID: String) -> String {
        "parent \(parentID) is missing from the database, or its row cannot be read; import it again"
    }

    /// The block a parent in `parentStatus` puts on its children, or nil when the parent can serve them.
    /// - Parameters:
    ///   - parent: the parent connection, nil when the database has none with that id.
    ///   - parentID: the id the child names.
    ///   - parentStatus: the parent's own status now.
    public init?(parent: Connection?, parentID: String, parentStatus: ConnectionStatus?) {
        self.parentID = parentID
        self.parentStatus = parentStatus
        guard let parent, let parentStatus else {
            reason = Self.missing(parentID)
            needsHuman = true
            return
        }
        let said = parent.lastError.map { ": \($0.summary)" } ?? ""
        switch parentStatus {
        case .needsReauth:
            reason =
                "parent \(parentID) needs re-auth"
                + (parent.lastError == nil
                    ? parent.reauthReason.map { ": \($0)" } ?? "" : said)
            needsHuman = true
        case .revoked:
            let place = parent.revokedAtProvider ? "at the provider" : "here"
            reason = "blocked: parent \(parentID) was revoked \(place); re-authorize it, then this renews again"
            needsHuman = true
        case .expired:
            reason = "parent \(parentID) expired and nothing can renew it; re-authorize it"
            needsHuman = true
        case .static:
            reason =
                "parent \(parentID) holds a static \(parent.credential.rawValue) credential, not a token "
                + "to exchange"
            needsHuman = true
        case .failing:
            reason = "parent \(parentID) is failing\(said); this waits for it"
            needsHuman = false
        case .healthy, .expiring, .refreshing:
            return nil
        }
    }
}

extension Connection {
    /// The connection's status at `now`, taking its parent into account when its token derives from the parent's.
    ///
    /// A child whose parent needs a human is `needs-reauth` itself, even while its own token lasts: nothing can
    /// renew it until someone acts on the parent. A child whose parent is failing for a transient reason stays
    /// `healthy` while its token is fresh and is `failing` once it is due, since it cannot renew before the parent
    /// recovers. The child's own facts (revoked, refused, in flight) come first.
    public func status(
        at now: Date, inFlight: Bool = false, policy: RefreshPolicy, parentBlock: ParentBlock?
    ) -> ConnectionStatus {
        let own = status(at: now, inFlight: inFlight, policy: policy)
        guard let parentBlock, grant.derivesFromParent else { return own }
        switch own {
        case .revoked, .needsReauth, .refreshing, .static:
            return own
        case .healthy, .expiring, .failing, .expired:
            if parentBlock.needsHuman { return .needsReauth }
            return own == .healthy ? .healthy : .failing
        }
    }
}
