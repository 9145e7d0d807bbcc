import Dispatch
import Glibc

/// Signals heard as events on a queue instead of their default action (which ends the process at once).
enum SignalSources {
    /// Calls `handler` with the signal's number each time one of `signals` arrives, until the returned sources are
    /// cancelled.
    ///
    /// A parent may have started us with these blocked (threads of a test runner do): they are unblocked, so that
    /// they are heard. Their default action is turned off for good, even after the sources are cancelled.
    static func watch(
        _ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void
    ) -> [any DispatchSourceSignal] {
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for number in signals { sigaddset(&wanted, number) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        ignore(signals)
        return signals.map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// Turns off the default action of `signals` (which ends the process), so that they are lost unless watched.
    static func ignore(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_IGN) }
    }
}
