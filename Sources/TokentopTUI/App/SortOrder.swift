import TokentopCore

/// How rows are ordered inside each scope group; `s` cycles through them.
enum SortOrder: String, CaseIterable, Sendable {
    /// The snapshot's order: by id within the group.
    case group
    /// Soonest expiry first; credentials without expiry last.
    case expiry
    /// Most urgent status first: needs-reauth, expired, failing, expiring, …
    case status
    /// By connection id.
    case name

    /// The order after this one.
    var next: SortOrder {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

extension ConnectionStatus {
    /// Lower is more urgent; the status sort puts what needs a human first.
    var urgency: Int {
        switch self {
        case .needsReauth: 0
        case .expired: 1
        case .failing: 2
        case .expiring: 3
        case .refreshing: 4
        case .revoked: 5
        case .healthy: 6
        case .static: 7
        }
    }
}
