import Foundation

extension Store {
    /// Records that refresher `owner` is alive.
    /// - Parameter briefly: whether another process's lock is waited for 100 ms only, as a heartbeat that the next
    ///   one replaces may be; false for the first, which `rekey` must see before the process sends anything.
    public func heartbeat(owner: String, at now: Date, briefly: Bool = true) throws {
        // Written every second; a heartbeat lost to a power cut is rewritten by the next one.
        try locked {
            try database.withoutWaitingForDisk {
                // A heartbeat may be skipped, so it never waits out the busy timeout for another process's lock:
                // that held the store (and the refresh actor that beats) for 5 s of every second, and delayed the
                // refreshes' own writes, and so the notice of the lock, by tens of seconds.
                try waiting(briefly: briefly) {
                    try self.database.execute(
                        "INSERT INTO processes (owner, last_seen) VALUES (?, ?) "
                            + "ON CONFLICT(owner) DO UPDATE SET last_seen = excluded.last_seen", [owner, now])
                }
            }
        }
    }

    /// Removes refresher `owner`, which is stopping.
    /// - Parameter briefly: whether another process's lock is waited for 100 ms only: an entry left behind is
    ///   passed over once its process is gone (``LeaseOwner/isGone(_:)``), and a command must not linger for it.
    public func removeHeartbeat(owner: String, briefly: Bool = false) throws {
        try locked {
            try waiting(briefly: briefly) {
                try self.database.execute("DELETE FROM processes WHERE owner = ?", [owner])
            }
        }
    }

    /// The refreshers (dashboards, daemons, and `refresh` and `reauth` commands while they run) that beat within the
    /// heartbeat window before `now`, leaving out those killed on this host, whose heartbeat outlives them.
    public func liveRefreshers(at now: Date) throws -> [(owner: String, lastSeen: Date)] {
        let window = Self.heartbeatWindow
        return try activeProcesses(since: now.addingTimeInterval(-window)).filter { !LeaseOwner.isGone($0.owner) }
    }

    /// Refreshers seen alive since `since`, with when each was seen last; a refresher killed without removing its
    /// heartbeat stays here until `since` passes it (see ``LeaseOwner/isGone(_:)``).
    public func activeProcesses(since: Date) throws -> [(owner: String, lastSeen: Date)] {
        try locked {
            try database.query(
                "SELECT owner, last_seen FROM processes WHERE last_seen >= ? ORDER BY owner", [since]
            ) { ($0.string(0) ?? "", $0.date(1) ?? since) }
        }
    }

    /// Throws `keyChanged` when this store's key no longer opens the database: another process re-keyed it.
    ///
    /// Called inside every transaction that seals a secret, so that nothing is ever stored under a stale key.
    func checkKeyUnchanged() throws {
        let stored = try database.query("SELECT value FROM meta WHERE name = 'key_check'") { $0.blob(0) }.first ?? nil
        guard let stored else { return }
        // Another process sealed the first secret since this one opened the store without a key.
        guard secrets.hasKey else { throw secrets.missingKey("the secrets of \(path)", path: path) }
        do {
            _ = try secrets.open(stored, context: "meta/key_check", describing: "the key check", path: path)
        } catch {
            throw StoreError(
                .keyChanged,
                "the database \(path) was re-keyed by another process; this process's key no longer opens it, so "
                    + "nothing was written; restart it with the new key", path: path)
        }
    }

    /// Why nothing may be written into the store: it was opened read-only, as a file this user may read but not
    /// write beside; nil when it may be written.
    /// - Parameter file: whether a file this user may not write, opened read-only by SQLite, counts too.
    public func readOnlyProblem(file: Bool = false) -> String? {
        let sqlite = database as? SQLiteDatabase
        guard sqlite?.unchanging == true || (file && (try? locked { sqlite?.readOnly }) == true) else { return nil }
        return "the database \(path) is open read-only: this user may not write it or its directory (make them "
            + "writable, chmod u+w, or run as their owner)"
    }

    /// Why this store's file can no longer be written to any purpose (it was deleted or moved since it was opened),
    /// or nil while it is where it was. A PostgreSQL store has no file: always nil.
    public func fileProblem() -> String? {
        guard (try? locked({ (database as? SQLiteDatabase)?.fileMoved ?? false })) == true else { return nil }
        return "the database file \(path) was deleted or moved since tokentop opened it; what tokentop stores now "
            + "reaches no file, so it stopped refreshing; put the file back or start tokentop again on it"
    }
}
