import Dispatch
import Foundation
import Synchronization

/// The refresh actor's group commit: lease claims and finished refreshes queue up while one transaction commits,
/// and the next transaction takes all of them.
///
/// A transaction costs about the same for one refresh as for a dozen (locks, the write-ahead log's frames, the key
/// check), so under load each commit carries many refreshes; when idle, a lone request is written at once. The
/// writing happens on a queue of its own, so the actor keeps sending requests meanwhile. A caller resumes only after
/// the commit: a rotated refresh token is on the disk before the new access token is used or shown.
final class RefreshWriter: Sendable {
    private typealias ClaimWaiter = CheckedContinuation<Result<ClaimedRefresh?, any Error>, Never>
    private typealias RecordWaiter = CheckedContinuation<Result<Connection, any Error>, Never>

    private struct Pending {
        var claims: [(LeaseRequest, ClaimWaiter)] = []
        var records: [(RefreshRecord, RecordWaiter)] = []
        /// Whether a drain is running on `queue`.
        var writing = false
        /// What this writer wrote and its owner has not yet passed over in the change feed.
        var changes: [ClosedRange<Int>] = []
        var history: [ClosedRange<Int>] = []
    }

    private let store: Store
    private let pending = Mutex(Pending())
    private let queue = DispatchQueue(label: "tokentop.refresh-writer")

    init(store: Store) {
        self.store = store
    }

    /// Takes the refresh lease of one connection.
    /// - Returns: the claimed refresh; nil when another live process holds the lease.
    func claim(_ request: LeaseRequest) async -> Result<ClaimedRefresh?, any Error> {
        await withCheckedContinuation { continuation in
            enqueue { $0.claims.append((request, continuation)) }
        }
    }

    /// Stores one finished refresh, giving its lease back.
    /// - Returns: the connection as stored, or why it was not stored.
    func record(_ record: RefreshRecord) async -> Result<Connection, any Error> {
        await withCheckedContinuation { continuation in
            enqueue { $0.records.append((record, continuation)) }
        }
    }

    /// The change numbers this writer stored, to be skipped when following the change feed.
    func ownChanges() -> [ClosedRange<Int>] { pending.withLock { $0.changes } }

    /// The history entries this writer stored, to be skipped when following the history.
    func ownHistory() -> [ClosedRange<Int>] { pending.withLock { $0.history } }

    /// Forgets the ranges the change feed has passed: those at or below `change` and `history`.
    func forget(changesThrough change: Int, historyThrough history: Int) {
        pending.withLock { state in
            state.changes.removeAll { $0.upperBound <= change }
            state.history.removeAll { $0.upperBound <= history }
        }
    }

    private func enqueue(_ add: (inout Pending) -> Void) {
        let start = pending.withLock { state in
            add(&state)
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    /// Writes batches until nothing is waiting.
    private func drain() {
        while true {
            let (claims, records) = pending.withLock { state in
                let batch = (state.claims, state.records)
                state.claims = []
                state.records = []
                if batch.0.isEmpty, batch.1.isEmpty { state.writing = false }
                return batch
            }
            if claims.isEmpty, records.isEmpty { return }
            do {
                let outcome = try store.writeRefreshBatch(claims: claims.map(\.0), records: records.map(\.0)) {
                    writes in
                    pending.withLock { state in
                        if let changes = writes.changes { state.changes.append(changes) }
                        if let history = writes.history { state.history.append(history) }
                    }
                }
                for (index, (_, waiter)) in claims.enumerated() {
                    waiter.resume(returning: outcome.claims[index].mapError { $0 })
                }
                for (index, (_, waiter)) in records.enumerated() {
                    waiter.resume(returning: outcome.records[index].mapError { $0 })
                }
            } catch {
                for (_, waiter) in claims { waiter.resume(returning: .failure(error)) }
                for (_, waiter) in records { waiter.resume(returning: .failure(error)) }
            }
        }
    }
}
