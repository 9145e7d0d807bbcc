import Synchronization

/// Closes once a stop begins: from then on no refresh sends a request, and the stop waits only for the requests that
/// already left, and for the revocations in flight.
///
/// Shared by the engine, which closes it from any thread (a stop must not wait for the actor, whose store calls may
/// be waiting out another process's lock), and the refresh actor, which asks it before each request.
final class StopGate: Sendable {
    private struct Counts {
        var closed = false
        var refreshes = 0
        var revocations = 0
    }

    private let counts = Mutex(Counts())

    /// Whether a stop began.
    var isClosed: Bool { counts.withLock { $0.closed } }

    /// Admits one refresh's request, counted until ``refreshDone()``; false once a stop began: nothing is sent.
    func admitRefresh() -> Bool {
        counts.withLock { counts in
            guard !counts.closed else { return false }
            counts.refreshes += 1
            return true
        }
    }

    /// An admitted refresh's result is stored, or given up.
    func refreshDone() { counts.withLock { $0.refreshes -= 1 } }

    /// A revocation's requests are going to the provider, counted until ``revocationDone()``.
    func revocationStarted() { counts.withLock { $0.revocations += 1 } }

    /// A revocation is recorded, or given up.
    func revocationDone() { counts.withLock { $0.revocations -= 1 } }

    /// What is in flight now: refreshes whose request left, and revocations.
    var inFlight: (refreshes: Int, revocations: Int) { counts.withLock { ($0.refreshes, $0.revocations) } }

    /// Closes the gate and says what is in flight, in one step: no refresh is admitted after the count.
    func close() -> (refreshes: Int, revocations: Int) {
        counts.withLock { counts in
            counts.closed = true
            return (counts.refreshes, counts.revocations)
        }
    }

    /// Opens it again, for an engine started anew.
    func open() { counts.withLock { $0.closed = false } }
}
