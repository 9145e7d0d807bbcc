import Foundation
import Synchronization

/// One re-authorization running in the core: its progress can be read at any time, followed as a stream, or
/// cancelled.
///
/// Reading never waits: the flow runs as a task of its own and publishes each step here.
public final class ReauthSession: Sendable {
    /// The connection being re-authorized.
    public let connectionID: String
    /// How the user signs in.
    public let method: ReauthMethod

    private struct Inner {
        var progress: ReauthProgress
        var followers: [UUID: AsyncStream<ReauthProgress>.Continuation] = [:]
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private let inner: Mutex<Inner>

    init(connectionID: String, method: ReauthMethod) {
        self.connectionID = connectionID
        self.method = method
        inner = Mutex(Inner(progress: .starting(method)))
    }

    /// Where the re-authorization stands now.
    public var progress: ReauthProgress { inner.withLock { $0.progress } }

    /// Ends the flow: the listener closes, polling stops, and the outcome is a `cancelled` failure. Nothing is
    /// stored unless the tokens had already arrived.
    public func cancel() {
        let task = inner.withLock { inner -> Task<Void, Never>? in
            inner.cancelled = true
            return inner.task
        }
        task?.cancel()
    }

    /// The current progress and every change after it, ending with the outcome.
    public func updates() -> AsyncStream<ReauthProgress> {
        let (stream, continuation) = AsyncStream<ReauthProgress>.makeStream(bufferingPolicy: .unbounded)
        let id = UUID()
        inner.withLock { inner in
            continuation.yield(inner.progress)
            if inner.progress.isFinished {
                continuation.finish()
            } else {
                inner.followers[id] = continuation
            }
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.inner.withLock { $0.followers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Waits for the outcome: ``ReauthProgress/succeeded(_:)`` or ``ReauthProgress/failed(_:)``.
    public func outcome() async -> ReauthProgress {
        for await progress in updates() where progress.isFinished { return progress }
        return progress
    }

    // MARK: - For the flow

    /// Runs `body` as the session's task; a cancellation that came first cancels it at once.
    func run(_ body: @escaping @Sendable () async -> Void) {
        let task = Task { await body() }
        let cancelled = inner.withLock { inner in
            inner.task = task
            return inner.cancelled
        }
        if cancelled { task.cancel() }
    }

    /// Publishes a step; nothing changes after the outcome.
    func publish(_ progress: ReauthProgress) {
        let followers = inner.withLock { inner -> [AsyncStream<ReauthProgress>.Continuation] in
            guard !inner.progress.isFinished else { return [] }
            inner.progress = progress
            let followers = Array(inner.followers.values)
            if progress.isFinished { inner.followers.removeAll() }
            return followers
        }
        for follower in followers {
            follower.yield(progress)
            if progress.isFinished { follower.finish() }
        }
    }

    /// Waits until the flow's task has ended.
    func finished() async {
        let task = inner.withLock { $0.task }
        await task?.value
    }
}
