import Foundation
import TokentopCore

/// The full-screen view the dashboard shows.
enum DashboardView: Equatable {
    /// The grouped connection table.
    case list
    /// Every fact about one connection.
    case detail(id: String)
    /// The connection's identity model beside the other four.
    case explain(id: String)
}

/// A box drawn over the current view; it takes every key until it closes.
enum Overlay: Equatable {
    /// Every key and what it does.
    case help
    /// Asks before revoking `ids`; only `y` confirms.
    case confirmRevoke(ids: [String])
    /// Asks before refreshing several marked connections at once; only `y` confirms.
    case confirmRefresh(ids: [String])
    /// Who must act to authorize `id` again; nil prompt when the core has none.
    case reauth(id: String, prompt: ReauthPrompt?)
    /// A user's sign-in for `id` running in the core: the URL or the device code, then the outcome.
    case signIn(id: String)
}

/// A one-line message about the last action, shown above the key hints for ``lifetime`` seconds.
struct StatusMessage: Equatable {
    static let lifetime: TimeInterval = 10

    var text: String
    var isError: Bool
    /// When it was said, by the dashboard's clock.
    var at: Date

    func isShown(at now: Date) -> Bool { now.timeIntervalSince(at) < Self.lifetime }
}
