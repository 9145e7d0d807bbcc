import Foundation
import Glibc
import Synchronization

/// The write end of the pipe that the signal handler below writes each signal's number into; -1 until the first
/// watch. Read by the handler, so set before any handler is installed.
private let signalPipeWrite = Atomic<Int32>(-1)

/// Signals heard as calls on a thread of our own instead of their default action (which ends the process at once).
///
/// Not libdispatch's signal sources: their events are handed to a worker thread of the global pool, and on Linux that
/// pool does not see that its threads are blocked. A stopping dashboard blocks one in the event command's grace, and
/// on a loaded 2-core machine a second Ctrl-C then went unheard until the grace was over. Here a C handler writes the
/// signal's number into a pipe (all it may safely do) and a thread that does nothing else reads it and calls the
/// watchers.
enum SignalSources {
    /// One call of ``watch(_:handler:)``: its handler is called until this is cancelled.
    final class Watch: Sendable {
        fileprivate let id: Int
        fileprivate init(id: Int) { self.id = id }

        /// Stops calling the handler. The signals stay caught: one arriving with no watcher left is dropped.
        func cancel() { _ = watchers.withLock { $0.removeValue(forKey: id) } }
    }

    private struct Watcher {
        let signals: Set<Int32>
        let handler: @Sendable (Int32) -> Void
    }

    private static let watchers = Mutex<[Int: Watcher]>([:])
    private static let nextID = Atomic<Int>(0)

    /// The pipe and the thread that reads it, made once.
    private static let reader: Bool = {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return false }
        // The reading end blocks; only the handler's end must never (a full pipe drops a signal, not the process).
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        signalPipeWrite.store(ends[1], ordering: .sequentiallyConsistent)
        let readEnd = ends[0]
        let thread = Thread {
            // This thread takes the signals even when every other thread blocks them (a test runner's threads
            // do, and a child inherits that).
            var wanted = sigset_t()
            sigemptyset(&wanted)
            for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&wanted, number) }
            pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count < 0, errno == EINTR { continue }
                guard count == 1 else { return }
                let number = Int32(byte)
                let handlers = watchers.withLock { all in
                    all.sorted { $0.key < $1.key }.filter { $0.value.signals.contains(number) }.map(\.value.handler)
                }
                for handler in handlers { handler(number) }
            }
        }
        thread.name = "tokentop signals"
        thread.start()
        return true
    }()

    /// Calls `handler` with the signal's number, on the signal thread, each time one of `signals` (SIGINT, SIGTERM
    /// or SIGHUP) arrives, until the returned watch is cancelled. Their default action is turned off for good.
    static func watch(_ signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) -> Watch {
        guard reader else {
            // No pipe (out of descriptors): the signals are at least no longer the end of the process.
            ignore(signals)
            return Watch(id: -1)
        }
        let id = nextID.add(1, ordering: .relaxed).newValue
        watchers.withLock { $0[id] = Watcher(signals: Set(signals), handler: handler) }
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                let saved = errno
                _ = write(signalPipeWrite.load(ordering: .relaxed), &byte, 1)
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        return Watch(id: id)
    }

    /// Turns off the default action of `signals` (which ends the process), so that they are lost unless watched.
    static func ignore(_ signals: [Int32]) {
        for number in signals { signal(number, SIG_IGN) }
    }
}

/// The first of a command's stop signals: the first Ctrl-C asks it to wind down, a second one to stop at once.
final class FirstSignal: Sendable {
    private let signal = Mutex<Int32?>(nil)

    /// The first signal taken, if any.
    var received: Int32? { signal.withLock { $0 } }

    /// Takes `number`; true when it is the first.
    func take(_ number: Int32) -> Bool {
        signal.withLock { first in
            defer { first = first ?? number }
            return first == nil
        }
    }
}
