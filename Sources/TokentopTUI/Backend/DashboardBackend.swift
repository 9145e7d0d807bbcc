import Foundation
import TokentopCore

/// What the dashboard needs from the core: snapshots to draw and commands to send back.
///
/// `Engine` conforms in the executable (`extension Engine: DashboardBackend {}`); every member must return at
/// once, because the dashboard calls them between two keystrokes.
public protocol DashboardBackend: Sendable {
    /// The core's current state; cheap, and never waits for the network or the disk.
    func snapshot() -> DashboardSnapshot
    /// Asks for a refresh of `ids`; the outcome arrives as events in later snapshots.
    func refresh(_ ids: [String])
    /// Asks for the revocation of `ids`; the outcome arrives as events in later snapshots.
    func revoke(_ ids: [String])
    /// Who must act to authorize connection `id` again, and why; nil when the core has nothing to say. Writes
    /// nothing: the detail view asks on every change it shows.
    func reauthPrompt(for id: String) -> ReauthPrompt?
    /// The operator asked to re-authorize `id` and no sign-in can run here: the same prompt, with the request
    /// recorded in the audit log (not by a read-only core).
    func requestReauth(for id: String) -> ReauthPrompt?
    /// Starts a user's sign-in for connection `id` in the core, when it can have one (a user connection whose
    /// integration has a sign-in endpoint); false when only ``reauthPrompt(for:)`` fits.
    func startReauth(for id: String) -> Bool
    /// Where the sign-in of `id` stands; nil when none was started, or it was forgotten.
    func reauthProgress(for id: String) -> ReauthProgress?
    /// Cancels the sign-in of `id` if it still runs, and forgets it.
    func cancelReauth(for id: String)
    /// Starts loading the full history of `id` into a later snapshot's `histories[id]`.
    func requestHistory(for id: String)
    /// The clock the countdowns are computed from.
    var timeSource: any TimeSource { get }
}
