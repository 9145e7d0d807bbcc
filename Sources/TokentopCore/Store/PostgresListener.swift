import CPostgres
import Foundation
import Synchronization

/// Counts PostgreSQL's change notices on a connection of its own, so that a refresher or a dashboard reads other
/// processes' writes as soon as they commit instead of on its next poll.
///
/// The store sends `pg_notify` in every transaction that changes a connection or adds history. A notice only says
/// "look now": the reader still reads the change feed by number, so a notice lost while the listener reconnects
/// costs only latency, and the reader's slower poll catches up. After each (re)connection the count goes up once,
/// since notices sent while it was away are gone.
final class PostgresListener: Sendable {
    private let url: String
    private let location: String
    /// How many notices arrived (and reconnections happened); readers compare it with what they saw last.
    private let count = Atomic<UInt64>(0)
    private let stopped = Atomic<Bool>(false)

    init(url: String, location: String) {
        self.url = url
        self.location = location
    }

    /// The number of notices so far; it changes whenever another process (or this one) committed a change.
    var notices: UInt64 { count.load(ordering: .acquiring) }

    /// Starts listening on a thread of its own, until ``stop()``.
    func start() {
        let thread = Thread { [self] in listen() }
        thread.name = "tokentop-listen"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .releasing) }

    private func listen() {
        var delay = 0.2
        while !stopped.load(ordering: .acquiring) {
            guard let handle = try? PostgresDatabase.connect(url, location: location) else {
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 10)
                continue
            }
            defer { PQfinish(handle) }
            let listening = PQexec(handle, "LISTEN \(PostgresDatabase.changeChannel)")
            let ok = PQresultStatus(listening) == PGRES_COMMAND_OK
            PQclear(listening)
            guard ok else {
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 10)
                continue
            }
            delay = 0.2
            count.add(1, ordering: .releasing)
            waitForNotices(handle)
        }
    }

    /// Reads notices until the connection breaks or the listener stops, waking at least once a second to check.
    private func waitForNotices(_ handle: OpaquePointer) {
        let socket = PQsocket(handle)
        while !stopped.load(ordering: .acquiring) {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 1000)
            if ready < 0, errno != EINTR { return }
            guard ready > 0 else { continue }
            guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else { return }
            var arrived = false
            while let notice = PQnotifies(handle) {
                arrived = true
                PQfreemem(notice)
            }
            if arrived { count.add(1, ordering: .releasing) }
        }
    }
}
