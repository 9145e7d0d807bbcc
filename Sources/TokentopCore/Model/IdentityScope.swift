/// Whose identity an API call made with a connection's credential uses.
///
/// The dashboard calls this the connection's scope. The raw values are the stable names used in
/// `list --json`, the import file and the database.
public enum IdentityScope: String, CaseIterable, Codable, Sendable, Comparable {
    case user
    case org
    case delegated
    case workspace
    case bot

    /// The group header shown in the dashboard: `User`, `Org`, `Delegated`, `Workspace`, `Bot`.
    public var title: String {
        switch self {
        case .user: "User"
        case .org: "Org"
        case .delegated: "Delegated"
        case .workspace: "Workspace"
        case .bot: "Bot"
        }
    }

    /// The position of the scope in the dashboard, which is also its `1`–`5` key.
    public var ordinal: Int { Self.allCases.firstIndex(of: self)! }

    /// Who must act when a connection of this scope needs a human to authorize again.
    public var reauthActor: String {
        switch self {
        case .user: "the user must sign in again"
        case .org: "an org admin must grant access again"
        case .delegated: "an admin must renew the org-wide delegation grant"
        case .workspace: "the workspace owner must reconnect the workspace"
        case .bot: "the installer must reinstall or re-register the app"
        }
    }

    public static func < (lhs: IdentityScope, rhs: IdentityScope) -> Bool { lhs.ordinal < rhs.ordinal }
}
