import Foundation

/// Names a refresher in refresh leases, and tells whether the process behind a name is gone.
///
/// A name is `host:pid:random`. A process killed while it held a lease (`kill -9`, a crash, a power cut of a
/// container) never gives it back; if others waited for it to expire, an interrupted refresh would be retried
/// only after the lease time, too late for a provider's rotation grace window, which is often 30 to 60 seconds.
/// On the same host a dead pid is certain, so its leases are taken over at once.
enum LeaseOwner {
    /// A fresh name for this process: host, process id and a random part (several engines may share a process).
    /// - Parameter label: what the process is doing (`refresh`), put before the random part so that a message
    ///   naming it says so: `host:4242:refresh-1a2b3c4d`.
    static func make(label: String? = nil) -> String {
        let random = UUID().uuidString.prefix(8)
        return "\(ProcessInfo.processInfo.hostName):\(getpid()):\(label.map { "\($0)-\(random)" } ?? String(random))"
    }

    /// The name a lease is held under while it is parked (``Store/holdLease(connectionID:_:until:)``): `owner`
    /// keeps the connection until a moment, but no request of it is in flight.
    static func parked(_ owner: String) -> String { owner + parkedMark }

    /// Whether `owner` is a parked lease's name: nothing of it waits for a provider's answer, so an import, a
    /// revocation or a sign-in need not wait for it, and a refresher taking it over interrupts nothing.
    static func isParked(_ owner: String) -> Bool { owner.hasSuffix(parkedMark) }

    /// Ends `owner`'s names of parked leases; after the random part, so that the process id is still found.
    private static let parkedMark = "#parked"

    /// Whether `owner` names a process on this host that no longer exists.
    ///
    /// Another host's process, a name of another shape, or a pid that is alive (even if reused by an unrelated
    /// process) counts as alive: its lease then ends only when it expires.
    static func isGone(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = pid_t(parts[parts.count - 2]), pid > 0 else { return false }
        let host = parts.dropLast(2).joined(separator: ":")
        guard host == ProcessInfo.processInfo.hostName, pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
