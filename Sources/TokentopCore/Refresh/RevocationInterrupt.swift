import Synchronization

/// An operator's Ctrl-C during a revocation: the revocations in flight stop waiting for the provider's answer at
/// once, and those not yet sent send nothing. It stays set: the process is about to end.
final class RevocationInterrupt: Sendable {
    private struct State {
        var set = false
        var waiters: [Int: @Sendable () -> Void] = [:]
        var next = 0
    }

    private let state = Mutex(State())

    /// Whether an operator interrupted.
    var isSet: Bool { state.withLock { $0.set } }

    /// Interrupts every wait in ``race(_:)``, now and later.
    func set() {
        let waiters = state.withLock { state in
            state.set = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for wake in waiters { wake() }
    }

    /// Runs `request` in a task of its own and returns its result, or nil as soon as an operator interrupts. An
    /// interrupted request is not cancelled, only no longer waited for: whether it reached the provider is unknown.
    func race<T: Sendable>(_ request: @escaping @Sendable () async -> T) async -> T? {
        let answer = OneAnswer<T>()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            let key: Int? = state.withLock { state in
                guard !state.set else { return nil }
                let key = state.next
                state.next += 1
                state.waiters[key] = { answer.give(nil) }
                return key
            }
            guard let key else {
                answer.give(nil)
                return
            }
            Task {
                let result = await request()
                self.state.withLock { _ = $0.waiters.removeValue(forKey: key) }
                answer.give(result)
            }
        }
    }
}

/// Resumes one continuation once, with whichever answer comes first.
private final class OneAnswer<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T?, Never>?>(nil)

    func wait(_ waiting: CheckedContinuation<T?, Never>) { continuation.withLock { $0 = waiting } }

    func give(_ answer: T?) {
        let waiting = continuation.withLock { current in
            defer { current = nil }
            return current
        }
        waiting?.resume(returning: answer)
    }
}
