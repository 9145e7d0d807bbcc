import Foundation

extension Store {
    /// Claims up to `limit` connections that are due by `now` and whose refresh lease is free or expired, for
    /// `owner` until `until`: the work-sharing of refreshers on a shared store.
    ///
    /// Rows come from the index over due times, earliest first. On PostgreSQL they are locked with
    /// `FOR UPDATE SKIP LOCKED`, so refreshers claiming at the same moment pass over each other's rows instead of
    /// waiting or taking the same ones, and the transaction holds no lock beyond them. A lease that was never given
    /// back (its holder died) is taken once it expires, and the claim says it was interrupted.
    /// - Returns: each claimed connection as stored now, with its lease and, for a connection that renews with a
    ///   refresh token, that token.
    func claimDue(owner: String, limit: Int, now: Date, until: Date) throws -> [ClaimedRefresh] {
        guard limit > 0 else { return [] }
        return try locked {
            try database.claimTransaction {
                // A row that cannot be read is passed over, not claimed: it failed every claim, and since it was
                // never refreshed its due time stayed the earliest, so a daemon on a shared store refreshed nothing
                // more. As many more rows are read as there are such rows known, and again when a read finds more
                // (the rows claimed meanwhile hold a lease now, and are not read again).
                var claimed: [ClaimedRefresh] = []
                while claimed.count < limit {
                    let known = unreadableDue.count
                    let wanted = limit - claimed.count + known
                    let rows = try database.query(
                        """
                        SELECT id, lease_owner, generation, refresh_token FROM connections
                        WHERE due_at <= ? AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until <= ?)
                        ORDER BY due_at LIMIT ?
                        """ + database.dialect.skipLocked, [now, now, wanted]
                    ) { ($0.string(0) ?? "", $0.string(1), $0.int(2), $0.blob(3)) }
                    for (id, holder, generation, sealed) in rows where claimed.count < limit {
                        guard let connection = try claimable(id) else { continue }
                        // Opened before the lease is taken: a token that cannot be opened fails the claim and
                        // leaves no lease behind.
                        let refreshToken =
                            connection.grant == .refreshToken
                            ? try sealed.map { try openRefreshToken($0, of: id) } : nil
                        try database.execute(
                            "UPDATE connections SET lease_owner = ?, lease_until = ? WHERE id = ?",
                            [owner, until, id])
                        let interrupted = Self.interrupts(holder, besides: owner)
                        claimed.append(
                            ClaimedRefresh(
                                connection: connection,
                                lease: Lease(owner: owner, generation: generation, interrupted: interrupted),
                                refreshToken: refreshToken))
                    }
                    // Every due row was read, or none found unreadable just now: nothing more to read.
                    guard rows.count == wanted, unreadableDue.count > known else { break }
                }
                return claimed
            }
        }
    }

    /// The connection `id` as stored, to claim; nil when it is gone, or when its row cannot be read, which
    /// ``unreadableDue`` then keeps (and forgets once it can be read again).
    private func claimable(_ id: String) throws -> Connection? {
        switch try readableConnection(id) {
        case nil: return nil
        case .failure(let unreadable)?:
            unreadableDue[id] = unreadable
            return nil
        case .success(let connection)?:
            unreadableDue[id] = nil
            return connection
        }
    }

    /// The due rows claims pass over because they cannot be read, as the last claim found them: a row damaged
    /// without a new change number (a hand edit on PostgreSQL) reaches no change feed, and would be passed over
    /// without a word.
    func unreadableAtClaims() throws -> [UnreadableConnection] {
        try locked { Self.byID(Array(unreadableDue.values)) }
    }

    /// Ends the leases of refreshers on this host that are gone (killed, crashed): their connections can be claimed
    /// at once, and the claim says the refresh was interrupted, instead of after the lease time, which is longer
    /// than many providers' rotation grace windows. Another host's refresher's leases end only when they expire.
    /// - Returns: how many leases were ended.
    @discardableResult
    public func endLeasesOfGoneOwners(now: Date) throws -> Int {
        try locked {
            let owners = try database.query(
                "SELECT DISTINCT lease_owner FROM connections WHERE lease_owner IS NOT NULL AND lease_until > ?", [now]
            ) { $0.string(0) ?? "" }
            var ended = 0
            for owner in owners where LeaseOwner.isGone(owner) {
                try database.withoutWaitingForDisk {
                    try database.execute(
                        "UPDATE connections SET lease_until = ? WHERE lease_owner = ? AND lease_until > ?",
                        [now, owner, now])
                }
                ended += database.changes
            }
            return ended
        }
    }

    /// Keeps `lease` without writing a result until `until`, when the refresh cannot happen yet (its parent is not
    /// ready, its provider's circuit breaker is open): no refresher claims the connection again before then, and if
    /// this process dies the lease simply expires. It is held under its parked name (``LeaseOwner/parked(_:)``):
    /// no request is in flight, so an import, a revocation or a sign-in does not wait for it (they waited up to the
    /// breaker's five minutes), and taking it over is no interrupted refresh.
    public func holdLease(connectionID: String, _ lease: Lease, until: Date) throws {
        try locked {
            try database.withoutWaitingForDisk {
                try database.execute(
                    """
                    UPDATE connections SET lease_owner = ?, lease_until = ?
                    WHERE id = ? AND lease_owner = ? AND generation = ?
                    """, [LeaseOwner.parked(lease.owner), until, connectionID, lease.owner, lease.generation])
            }
        }
    }

    /// Writes the due time of rows that have none yet (written before due times were stored, or by an older
    /// tokentop), with this process's policy, so that claims find them. Rows with nothing to renew stay empty.
    /// - Returns: how many rows got a due time.
    @discardableResult
    public func fillMissingDueTimes() throws -> Int {
        try locked {
            try database.transaction(durable: false) {
                // A row that cannot be read gets no due time, and the others get theirs.
                var pending: [Connection] = []
                var unreadable: [UnreadableConnection] = []
                var cache = RowCache()
                _ = try database.query(
                    """
                    SELECT \(Self.connectionColumns) FROM connections
                    WHERE due_at IS NULL AND revoked_at IS NULL AND reauth_reason IS NULL
                    """
                ) { take($0, into: &pending, unreadable: &unreadable, cache: &cache) }
                var filled = 0
                for connection in pending {
                    guard let due = duePolicy.dueAt(connection) else { continue }
                    try database.execute("UPDATE connections SET due_at = ? WHERE id = ?", [due, connection.id])
                    filled += 1
                }
                return filled
            }
        }
    }
}
