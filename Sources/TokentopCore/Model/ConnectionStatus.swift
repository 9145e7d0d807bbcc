/// The one status a connection has at a moment, derived from stored facts and the clock.
public enum ConnectionStatus: String, CaseIterable, Codable, Sendable {
    case healthy
    case expiring
    case refreshing
    case failing
    case needsReauth = "needs-reauth"
    case expired
    case revoked
    case `static`

    /// A one-character mark, so that no status is told by colour alone.
    public var symbol: String {
        switch self {
        case .healthy: "●"
        case .expiring: "◐"
        case .refreshing: "↻"
        case .failing: "▲"
        case .needsReauth: "!"
        case .expired: "✕"
        case .revoked: "⊘"
        case .static: "■"
        }
    }

    /// Whether a human is needed to bring the connection back.
    public var needsHuman: Bool { self == .needsReauth || self == .expired }
}
