import Foundation

/// A request for one connection's refresh lease, as ``Store/writeRefreshBatch(claims:records:committed:)`` takes it.
struct LeaseRequest: Sendable {
    var connectionID: String
    var owner: String
    var until: Date
    var now: Date
    /// Whether another process's parked lease is taken over (``LeaseOwner/parked(_:)``): for an operator's refresh,
    /// which no breaker or blocked parent of another process should hold off for minutes, since nothing of that
    /// lease is in flight. The schedule's refreshes leave it be.
    var takesParked = false
}

/// A connection whose refresh lease was taken, with what its refresh needs from the row.
struct ClaimedRefresh: Sendable {
    /// The connection as stored when the lease was taken.
    var connection: Connection
    var lease: Lease
    /// The stored refresh token, read only for connections that renew with one.
    var refreshToken: Secret?
}

/// One finished refresh to store under the lease it was claimed with.
struct RefreshRecord: Sendable {
    enum Outcome: Sendable {
        case success(TokenGrant, message: String)
        case failure(ProviderError, retryAt: Date?, reauthReason: String?)
    }

    /// The connection as it was claimed: the lease's generation proves the row has not changed since.
    var connection: Connection
    var lease: Lease
    var outcome: Outcome
    var at: Date
    /// A success's tokens, sealed before the record reached the writer.
    var sealed: SealedGrant?
}

/// The change numbers and history entries one batch wrote, so that the writer can skip them when it follows the
/// store's change feed.
struct BatchWrites: Sendable {
    var changes: ClosedRange<Int>?
    var history: ClosedRange<Int>?
}

/// What became of each claim and each record of one batch, in the order they were given.
struct BatchOutcome: Sendable {
    /// A claimed refresh, nil when another live process holds the lease, or the error of that one claim.
    var claims: [Result<ClaimedRefresh?, StoreError>] = []
    /// The connection as stored, or why this one record was not stored (`leaseLost`, `revoked`, `keyChanged`,
    /// `unknownConnection`).
    var records: [Result<Connection, StoreError>] = []
}

extension Store {
    /// Stores several finished refreshes and takes several refresh leases in one transaction (a group commit).
    ///
    /// Each record is checked as ``recordRefreshSuccess(connectionID:grant:at:message:lease:)`` and
    /// ``recordRefreshFailure(connectionID:error:retryAt:reauthReason:at:lease:)`` check theirs, and writes the same
    /// row and history entry; storing a result also gives its lease back. Each claim behaves as
    /// ``claimLease(connectionID:owner:until:now:)``. A record or claim refused on its own merits fails alone; a
    /// database error fails the whole batch, and nothing of it is written. The transaction waits for the disk when
    /// any record stores a rotated refresh token.
    /// - Parameter committed: called after the commit, with the store's lock still held, so that nobody reads the
    ///   batch's change numbers before the caller knows them.
    func writeRefreshBatch(
        claims: [LeaseRequest], records: [RefreshRecord], committed: (BatchWrites) -> Void = { _ in }
    ) throws -> BatchOutcome {
        let durable = records.contains {
            if case .success(let grant, _) = $0.outcome { grant.refreshToken != nil } else { false }
        }
        return try locked {
            var writes = BatchWrites()
            let outcome = try database.transaction(durable: durable) {
                var outcome = BatchOutcome()
                if !records.isEmpty {
                    outcome.records = try writeRecords(records, writes: &writes)
                }
                outcome.claims = try claims.map { try takeLease($0) }
                return outcome
            }
            committed(writes)
            return outcome
        }
    }

    /// Connections written after change number `since`, leaving out the ranges this process wrote itself (which it
    /// knows already), and the newest change number.
    /// - Parameter own: read with the lock held, so that a batch committing meanwhile is either in it or not yet
    ///   visible.
    ///
    /// The ids of connections deleted since `since` (``deleteConnections(_:force:user:at:)``) come with them, unless
    /// a row read here brings the id back (imported again since).
    ///
    /// A row whose values cannot be read comes in `unreadable`, not in `connections`: the feed moves past it.
    func changes(
        since: Int, skipping own: () -> [ClosedRange<Int>]
    ) throws -> (connections: [Connection], unreadable: [UnreadableConnection], deleted: [String], latest: Int) {
        var cache = RowCache()
        var connections: [Connection] = []
        var unreadable: [UnreadableConnection] = []
        let (_, latest) = try feed(
            table: "connections", number: "change_seq", columns: Self.connectionColumns, since: since,
            latestQuery: Self.latestChangeQuery, skipping: own
        ) { take($0, into: &connections, unreadable: &unreadable, cache: &cache) }
        guard latest > since else { return (connections, unreadable, [], latest) }
        // A refresher never deletes: its own ranges hold none of these. One deleted after `latest` was read has a
        // later number, and comes with the next reading.
        let deletions = try locked {
            try database.query(
                "SELECT id FROM deleted_connections WHERE change_seq > ? AND change_seq <= ? ORDER BY change_seq",
                [since, latest]
            ) { $0.string(0) ?? "" }
        }
        let present = connections.map(\.id) + unreadable.map(\.id)
        return (connections, unreadable, Self.stillDeleted(deletions, besides: present), latest)
    }

    /// History entries written after entry number `since`, leaving out the ranges this process wrote itself and
    /// those its prober and sign-ins showed (``shownHere``), and the newest entry number.
    func history(
        since: Int, skipping own: () -> [ClosedRange<Int>]
    ) throws -> (entries: [HistoryEntry], latest: Int) {
        var problems: [String] = []
        let read = try feed(
            table: "history", number: "id", columns: Self.historyColumns, since: since,
            skipping: { own() + shownHere }
        ) { readableHistoryEntry(from: $0, problems: &problems) }
        // Entries past the feed are never read again: what of them was shown here need not be remembered.
        try locked { shownHere.removeAll { $0.upperBound <= read.1 } }
        return (read.0.compactMap { $0 }, read.1)
    }

    /// The rows of `table` whose `number` is past `since`, in that order, leaving out the ranges of `own`, and the
    /// newest number: one reading of the change feed and of the history.
    /// - Parameter latestQuery: the query for the newest number, when it is not the largest in `table`.
    private func feed<Row>(
        table: String, number: String, columns: String, since: Int, latestQuery: String? = nil,
        skipping own: () -> [ClosedRange<Int>], row: (SQLRow) throws -> Row
    ) throws -> ([Row], Int) {
        try locked {
            let own = own()
            let newest = latestQuery ?? "SELECT COALESCE(MAX(\(number)), 0) FROM \(table)"
            let latest = max(since, try database.query(newest) { $0.int(0) }.first ?? since)
            var rows: [Row] = []
            for (low, high) in Self.gaps(after: since, upTo: latest, skipping: own) {
                rows += try database.query(
                    "SELECT \(columns) FROM \(table) WHERE \(number) > ? AND \(number) <= ? ORDER BY \(number)",
                    [low, high], row: row)
            }
            return (rows, latest)
        }
    }

    /// The half-open intervals `(low, high]` of `(since, latest]` that no range of `own` covers.
    static func gaps(after since: Int, upTo latest: Int, skipping own: [ClosedRange<Int>]) -> [(Int, Int)] {
        var gaps: [(Int, Int)] = []
        var low = since
        for range in own.sorted(by: { $0.lowerBound < $1.lowerBound }) where range.upperBound > low {
            if range.lowerBound - 1 > low { gaps.append((low, min(range.lowerBound - 1, latest))) }
            low = max(low, range.upperBound)
            if low >= latest { break }
        }
        if latest > low { gaps.append((low, latest)) }
        return gaps.filter { $0.0 < $0.1 }
    }

    // MARK: - Records

    private func writeRecords(_ records: [RefreshRecord], writes: inout BatchWrites) throws -> [Result<
        Connection, StoreError
    >] {
        // Every change number of the batch follows the newest one, as `markChanged` numbers a single write.
        let firstChange = try database.query(Self.latestChangeQuery) { $0.int(0) }.first ?? 0
        let historyBefore = try database.query("SELECT COALESCE(MAX(id), 0) FROM history") { $0.int(0) }.first ?? 0
        var nextChange = firstChange + 1
        // The key is checked once for the batch, before anything is sealed under it.
        var keyProblem: StoreError?
        if records.contains(where: { if case .success = $0.outcome { true } else { false } }) {
            do { try checkKeyUnchanged() } catch let error as StoreError { keyProblem = error }
        }
        var results: [Result<Connection, StoreError>] = []
        results.reserveCapacity(records.count)
        for record in records {
            do {
                let connection = try writeRecord(record, change: nextChange, keyProblem: keyProblem)
                nextChange += 1
                results.append(.success(connection))
            } catch let error as StoreError
                where [.leaseLost, .revoked, .keyChanged, .unknownConnection].contains(error.code)
            {
                // Refused before anything of this record was written: the others still go in.
                results.append(.failure(error))
            }
        }
        if nextChange > firstChange + 1 {
            writes.changes = (firstChange + 1)...(nextChange - 1)
            let historyAfter =
                try database.query("SELECT COALESCE(MAX(id), 0) FROM history") { $0.int(0) }.first ?? 0
            if historyAfter > historyBefore { writes.history = (historyBefore + 1)...historyAfter }
        }
        return results
    }

    /// Checks one record's lease, then writes its row (giving the lease back) and its history entry.
    private func writeRecord(_ record: RefreshRecord, change: Int, keyProblem: StoreError?) throws -> Connection {
        let id = record.connection.id
        // Locked on PostgreSQL until the commit: a claim by another process cannot slip in before the write.
        let row = try database.query(
            "SELECT lease_owner, generation, revoked_at FROM connections WHERE id = ?" + database.dialect.lockRows,
            [id]
        ) { ($0.string(0), $0.int(1), $0.date(2)) }.first
        guard let row else { throw unknownConnection(id) }
        guard row.0 == record.lease.owner, row.1 == record.lease.generation else {
            throw StoreError(
                .leaseLost,
                "another process refreshed or changed connection \(id) while this one was refreshing it; "
                    + "its result was kept and this one discarded", path: path)
        }
        var connection = record.connection
        var access: [UInt8]?
        var refresh: [UInt8]?
        let entry: HistoryEntry
        switch record.outcome {
        case .success(let grant, let message):
            if let keyProblem { throw keyProblem }
            guard row.2 == nil else { throw revokedWhileInFlight(id) }
            (access, refresh, entry) = try applySuccess(
                grant, sealed: record.sealed, message: message, at: record.at, to: &connection)
        case .failure(let error, let retryAt, let reauthReason):
            entry = applyFailure(error, retryAt: retryAt, reauthReason: reauthReason, at: record.at, to: &connection)
        }
        // One statement writes what the outcome changed, the tokens, and what `markChanged` writes: a new
        // generation, no lease, and the next change number. The lease proves the other facts are as claimed.
        try database.execute(
            """
            UPDATE connections SET \(Self.outcomeAssignments),
                access_token = COALESCE(?, access_token), refresh_token = COALESCE(?, refresh_token),
                generation = generation + 1, lease_owner = NULL, lease_until = NULL, change_seq = ?
            WHERE id = ?
            """, try outcomeValues(connection) + [access, refresh, change, id])
        try insertHistory(entry)
        return connection
    }

    /// The stored refresh token of connection `id`, opened for its refresh. One another process's rekey sealed
    /// since this store was opened is said as such (`keyChanged`), rather than as a key that may be wrong.
    func openRefreshToken(_ sealed: [UInt8], of id: String) throws -> Secret {
        do {
            return try unseal(sealed, context: Self.refreshTokenContext(id))
        } catch {
            try checkKeyUnchanged()
            throw error
        }
    }

    private static let outcomeAssignments = outcomeColumns.map { "\($0) = ?" }.joined(separator: ", ")

    // MARK: - Claims

    /// Takes one lease as ``claimLease(connectionID:owner:until:now:)`` does, and reads the refresh token with it.
    private func takeLease(_ request: LeaseRequest) throws -> Result<ClaimedRefresh?, StoreError> {
        let id = request.connectionID
        var cache = RowCache()
        // A row that cannot be read fails this claim alone: thrown, it rolled back every other claim and result
        // of the batch, rotated refresh tokens included.
        var unreadable: StoreError?
        let rows = try database.query(
            """
            SELECT \(Self.connectionColumns), lease_owner, lease_until, generation, refresh_token
            FROM connections WHERE id = ?
            """ + database.dialect.lockRows, [id]
        ) { row -> (Connection, String?, Date?, Int, [UInt8]?)? in
            do {
                return (
                    try connection(from: row, cache: &cache), row.string(Self.changeSeqColumn),
                    row.date(Self.changeSeqColumn + 1), row.int(Self.changeSeqColumn + 2),
                    row.blob(Self.changeSeqColumn + 3)
                )
            } catch let error as StoreError where error.isUnreadableRow {
                unreadable = error
                return nil
            }
        }
        if let unreadable { return .failure(unreadable) }
        guard let (connection, holder, expiry, generation, sealed) = rows.first ?? nil else {
            return .failure(unknownConnection(id))
        }
        // Its own parked lease is taken back as its own lease is; another's parked one waits, as a refresher must.
        if let holder, holder != request.owner, holder != LeaseOwner.parked(request.owner),
            !(request.takesParked && LeaseOwner.isParked(holder)), let expiry, expiry > request.now,
            !LeaseOwner.isGone(holder)
        {
            return .success(nil)
        }
        var refreshToken: Secret?
        if connection.grant == .refreshToken, let sealed {
            // Opened before the lease is taken: a token that cannot be opened leaves no lease behind.
            do {
                refreshToken = try openRefreshToken(sealed, of: id)
            } catch let error as StoreError {
                return .failure(error)
            }
        }
        try database.execute(
            "UPDATE connections SET lease_owner = ?, lease_until = ? WHERE id = ?", [request.owner, request.until, id])
        // A lease still recorded under another name was never given back: its refresh did not finish.
        let interrupted = Self.interrupts(holder, besides: request.owner)
        return .success(
            ClaimedRefresh(
                connection: connection,
                lease: Lease(owner: request.owner, generation: generation, interrupted: interrupted),
                refreshToken: refreshToken))
    }
}
