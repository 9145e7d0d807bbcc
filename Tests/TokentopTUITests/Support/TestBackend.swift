import Foundation
import Synchronization
import TokentopCore

@testable import TokentopTUI

/// An in-memory stand-in for the engine: it serves snapshots a test builds and records the commands it gets.
///
/// Only the engine is replaced; every piece of the dashboard under test is the real code.
final class TestBackend: DashboardBackend {
    struct Calls: Equatable {
        var refreshed: [[String]] = []
        var revoked: [[String]] = []
        var historyRequests: [String] = []
        /// Operators' requests to re-authorize (``requestReauth(for:)``), which the engine audits.
        var reauthPromptRequests: [String] = []
        /// Lookups of a prompt to show (``reauthPrompt(for:)``), which write nothing.
        var reauthPromptLookups: [String] = []
        var signInsStarted: [String] = []
        var signInsCancelled: [String] = []
    }

    private struct State {
        var snapshot: DashboardSnapshot
        var prompts: [String: ReauthPrompt]
        var calls = Calls()
        /// Connections a sign-in can start for, and the progress of each one started.
        var signInable: Set<String> = []
        var signIns: [String: ReauthProgress] = [:]
    }

    let clock: TestClock
    private let state: Mutex<State>

    init(snapshot: DashboardSnapshot, clock: TestClock = TestClock(), prompts: [String: ReauthPrompt] = [:]) {
        self.clock = clock
        state = Mutex(State(snapshot: snapshot, prompts: prompts))
    }

    var timeSource: any TimeSource { clock }

    var calls: Calls { state.withLock { $0.calls } }

    /// Replaces the snapshot, bumping its version as the engine does on every change.
    func publish(_ change: (inout DashboardSnapshot) -> Void) {
        state.withLock { state in
            change(&state.snapshot)
            state.snapshot.version += 1
        }
    }

    func snapshot() -> DashboardSnapshot { state.withLock { $0.snapshot } }

    func refresh(_ ids: [String]) { state.withLock { $0.calls.refreshed.append(ids) } }

    func revoke(_ ids: [String]) { state.withLock { $0.calls.revoked.append(ids) } }

    func reauthPrompt(for id: String) -> ReauthPrompt? {
        state.withLock { state in
            state.calls.reauthPromptLookups.append(id)
            return state.prompts[id]
        }
    }

    func requestReauth(for id: String) -> ReauthPrompt? {
        state.withLock { state in
            state.calls.reauthPromptRequests.append(id)
            return state.prompts[id]
        }
    }

    func requestHistory(for id: String) { state.withLock { $0.calls.historyRequests.append(id) } }

    /// Lets `ids` start a sign-in, as user connections with a sign-in endpoint do in the engine.
    func allowSignIn(_ ids: Set<String>) { state.withLock { $0.signInable = ids } }

    /// Moves the sign-in of `id` on, as the core's flow would.
    func publishSignIn(_ id: String, _ progress: ReauthProgress) { state.withLock { $0.signIns[id] = progress } }

    func startReauth(for id: String) -> Bool {
        state.withLock { state in
            guard state.signInable.contains(id) else { return false }
            state.calls.signInsStarted.append(id)
            state.signIns[id] = state.signIns[id] ?? .starting(.authorizationCode)
            return true
        }
    }

    func reauthProgress(for id: String) -> ReauthProgress? { state.withLock { $0.signIns[id] } }

    func cancelReauth(for id: String) {
        state.withLock { state in
            state.calls.signInsCancelled.append(id)
            state.signIns[id] = nil
        }
    }
}
