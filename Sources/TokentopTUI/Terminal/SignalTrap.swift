import Glibc
import Synchronization

/// The last SIGINT, SIGTERM or SIGHUP that arrived while the trap was set; 0 for none.
private let pendingSignal = Atomic<Int32>(0)
/// How many SIGINT and SIGTERM arrived while the trap was set (a closed terminal's two SIGHUPs are not counted).
private let stopSignals = Atomic<Int>(0)

/// Catches SIGINT, SIGTERM and SIGHUP while the dashboard owns the terminal, so that it can close cleanly.
///
/// The handler only stores the signal's number (an atomic store is async-signal-safe). The handlers are installed
/// without `SA_RESTART`, so a signal also interrupts the wait for a key and the loop sees it at once.
/// SIGWINCH is left to ncurses, which turns it into `KEY_RESIZE`.
///
/// A process can inherit a signal mask that blocks these (a parent that spawned it from a thread with signals
/// blocked does that), and then Ctrl-C and resizes would never arrive; the trap unblocks them on the loop's thread
/// and puts the old mask back when it is restored.
final class SignalTrap {
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Signals the dashboard needs delivered: its own, ncurses' resize, and job control.
    static let unblocked: [Int32] = signals + [SIGWINCH, SIGTSTP, SIGCONT]
    private var previous: [Int32: sigaction] = [:]
    private var previousMask = sigset_t()
    private var maskChanged = false

    init() {
        pendingSignal.store(0, ordering: .relaxed)
        stopSignals.store(0, ordering: .relaxed)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for number in Self.unblocked { sigaddset(&unblock, number) }
        maskChanged = pthread_sigmask(SIG_UNBLOCK, &unblock, &previousMask) == 0
        for number in Self.signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                pendingSignal.store(number, ordering: .relaxed)
                if number != SIGHUP { stopSignals.add(1, ordering: .relaxed) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            var old = sigaction()
            if sigaction(number, &action, &old) == 0 { previous[number] = old }
        }
    }

    /// Whether a SIGINT or SIGTERM came twice (two quick Ctrl-C): the stop is not to wait.
    var receivedAgain: Bool { stopSignals.load(ordering: .relaxed) >= 2 }

    /// The signal that arrived, if any.
    var received: Int32? {
        let number = pendingSignal.load(ordering: .relaxed)
        return number == 0 ? nil : number
    }

    /// Puts the handlers and the signal mask back as they were.
    func restore() {
        for (number, action) in previous {
            var action = action
            sigaction(number, &action, nil)
        }
        previous = [:]
        if maskChanged {
            pthread_sigmask(SIG_SETMASK, &previousMask, nil)
            maskChanged = false
        }
    }

    deinit { restore() }
}
