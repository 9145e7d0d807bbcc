import Foundation

/// A process's claim on refreshing one connection, valid until another write bumps the generation.
public struct Lease: Sendable, Equatable {
    /// Who holds it: host, process id and a random part.
    public var owner: String
    /// The connection's generation when the lease was taken.
    public var generation: Int
    /// Whether it was taken over from a refresher that stopped while holding it (killed, crashed, or past its
    /// lease time): that refresher's request may have reached the provider and rotated the refresh token.
    public var interrupted = false
}

extension Store {
    /// Takes the refresh lease of `connectionID` for `owner` until `until`, unless another owner holds an unexpired
    /// one whose process is alive (see ``LeaseOwner``).
    ///
    /// - Returns: the connection as stored now (perhaps refreshed by another process meanwhile) and the lease, or
    ///   nil when another process holds the lease.
    public func claimLease(connectionID: String, owner: String, until: Date, now: Date) throws -> (Connection, Lease)? {
        // A lease lost to a power cut only lets another process refresh sooner: no need to wait for the disk.
        try locked {
            try database.transaction(durable: false) {
                let rows = try database.query(
                    "SELECT lease_owner, lease_until, generation FROM connections WHERE id = ?"
                        + database.dialect.lockRows, [connectionID]
                ) { ($0.string(0), $0.date(1), $0.int(2)) }
                guard let row = rows.first else { throw unknownConnection(connectionID) }
                // A parked lease is taken over: nothing of it is in flight (revocations and sign-ins come here).
                if let holder = row.0, holder != owner, !LeaseOwner.isParked(holder), let expiry = row.1, expiry > now,
                    !LeaseOwner.isGone(holder)
                {
                    return nil
                }
                try database.execute(
                    "UPDATE connections SET lease_owner = ?, lease_until = ? WHERE id = ?",
                    [owner, until, connectionID])
                guard let connection = try loadConnection(connectionID) else { throw unknownConnection(connectionID) }
                // A lease still recorded under another name was never given back: its refresh did not finish.
                let interrupted = Self.interrupts(row.0, besides: owner)
                return (connection, Lease(owner: owner, generation: row.2, interrupted: interrupted))
            }
        }
    }

    /// Who holds the refresh lease of `connectionID` and until when, live or not; nil when nobody does.
    func leaseHolder(connectionID: String) throws -> (owner: String, until: Date)? {
        try locked {
            let rows = try database.query(
                "SELECT lease_owner, lease_until FROM connections WHERE id = ?", [connectionID]
            ) { ($0.string(0), $0.date(1)) }
            guard let (holder, until) = rows.first, let holder, let until else { return nil }
            return (holder, until)
        }
    }

    /// `holder` when its lease until `until` has a refresh in flight at `now`: unexpired, not `owner`'s, not
    /// parked, its process alive.
    static func liveLease(_ holder: String?, until: Date?, besides owner: String? = nil, now: Date) -> String? {
        guard let holder, holder != owner, !LeaseOwner.isParked(holder), let until, until > now,
            !LeaseOwner.isGone(holder)
        else { return nil }
        return holder
    }

    /// Whether taking over a lease last held by `holder` interrupts a refresh: a lease `owner` does not hold, that
    /// was not parked, was never given back.
    static func interrupts(_ holder: String?, besides owner: String) -> Bool {
        guard let holder else { return false }
        return holder != owner && holder != LeaseOwner.parked(owner) && !LeaseOwner.isParked(holder)
    }

    /// Gives the lease back without writing a result, when the refresh turned out not to be needed.
    public func releaseLease(connectionID: String, _ lease: Lease) throws {
        try locked {
            try database.withoutWaitingForDisk {
                try database.execute(
                    "UPDATE connections SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
                    [connectionID, lease.owner])
            }
        }
    }

    /// Throws `leaseLost` unless `lease` still holds: same owner, and no write since it was taken.
    func checkLease(_ lease: Lease?, connectionID: String) throws {
        guard let lease else { return }
        // Locked on PostgreSQL until the write commits: a claim by another process cannot slip in between.
        let row = try database.query(
            "SELECT lease_owner, generation FROM connections WHERE id = ?" + database.dialect.lockRows, [connectionID]
        ) { ($0.string(0), $0.int(1)) }.first
        guard let row, row.0 == lease.owner, row.1 == lease.generation else {
            throw StoreError(
                .leaseLost,
                "another process refreshed or changed connection \(connectionID) while this one was refreshing it; "
                    + "its result was kept and this one discarded", path: path)
        }
    }

    /// Records that `connectionID` changed: bumps its generation, ends any lease, and gives it the next change
    /// number.
    func markChanged(_ connectionID: String) throws {
        try database.execute(
            """
            UPDATE connections SET generation = generation + 1, lease_owner = NULL, lease_until = NULL,
                change_seq = (\(Self.latestChangeQuery)) + 1
            WHERE id = ?
            """, [connectionID])
        try announceChange()
    }

    /// Tells other processes that follow this store that something changed (see ``SQLDatabase/announceChange()``).
    func announceChange() throws { try database.announceChange() }

    /// The newest change number, to start following changes from.
    public func latestChange() throws -> Int {
        try locked { try database.query(Self.latestChangeQuery) { $0.int(0) }.first ?? 0 }
    }

    /// The query for the newest change number: a stored connection's, or a deleted one's (`deleted_connections`),
    /// so that deleting the connection changed last never hands its number out again, to a write that followers
    /// would then take for one they had read.
    static let latestChangeQuery = """
        SELECT MAX(latest) FROM (SELECT COALESCE(MAX(change_seq), 0) AS latest FROM connections \
        UNION ALL SELECT COALESCE(MAX(change_seq), 0) FROM deleted_connections) AS newest
        """

    /// Connections written after change number `since` (by any process), the ids of those deleted since then and
    /// not added again, and the newest change number.
    public func changes(since: Int) throws -> (connections: [Connection], deleted: [String], latest: Int) {
        try locked {
            var cache = RowCache()
            var latest = since
            let connections = try database.query(
                """
                SELECT \(Self.connectionColumns), change_seq FROM connections
                WHERE change_seq > ? ORDER BY change_seq
                """, [since]
            ) { row -> Connection in
                latest = max(latest, row.int(Self.changeSeqColumn))
                return try connection(from: row, cache: &cache)
            }
            let deletions = try database.query(
                "SELECT id, change_seq FROM deleted_connections WHERE change_seq > ? ORDER BY change_seq", [since]
            ) { row -> String in
                latest = max(latest, row.int(1))
                return row.string(0) ?? ""
            }
            return (connections, Self.stillDeleted(deletions, besides: connections.map(\.id)), latest)
        }
    }

    /// The ids of `deletions` that none of `ids` (rows as stored now) brings back: a connection deleted and
    /// then imported again under its id is there, and stays.
    static func stillDeleted(_ deletions: [String], besides ids: [String]) -> [String] {
        guard !deletions.isEmpty else { return [] }
        let present = Set(ids)
        var seen: Set<String> = []
        return deletions.filter { !present.contains($0) && seen.insert($0).inserted }
    }

    /// The newest history entry's number.
    public func latestHistoryID() throws -> Int {
        try locked { try database.query("SELECT COALESCE(MAX(id), 0) FROM history") { $0.int(0) }.first ?? 0 }
    }

    /// History entries written after entry number `since` (by any process), oldest first, and the newest number.
    public func history(since: Int) throws -> (entries: [HistoryEntry], latest: Int) {
        try locked {
            var latest = since
            let entries = try database.query(
                "SELECT \(Self.historyColumns), id FROM history WHERE id > ? ORDER BY id", [since]
            ) { row -> HistoryEntry in
                latest = max(latest, row.int(5))
                return try historyEntry(from: row)
            }
            return (entries, latest)
        }
    }
}
