import Foundation

extension Store {
    /// Stores the tokens of a finished re-authorization, in one transaction, and gives the connection a clean
    /// slate: no failures, no pending re-auth, not revoked.
    ///
    /// Unlike a refresh, a new grant replaces the refresh token even when the answer carries none: the old one
    /// belonged to the grant the user just replaced. The connection's grant becomes `refresh_token` when a
    /// refresh token came, `none` otherwise.
    /// - Parameters:
    ///   - grantedScopes: the scopes the provider granted (or, when it did not say, the ones asked for).
    ///   - lease: the refresh lease taken for the write; nil writes without one, which still ends any other
    ///     process's lease, so that a refresh of the old grant in flight elsewhere is discarded.
    /// - Throws: ``StoreError`` (`leaseLost`, `keyChanged`, `unknownConnection`, database failures); nothing is
    ///   written then.
    @discardableResult
    public func recordReauthorization(
        connectionID: String, grant: TokenGrant, grantedScopes: [String], at: Date, message: String,
        lease: Lease? = nil
    ) throws -> Connection {
        try locked {
            try database.transaction {
                try checkLease(lease, connectionID: connectionID)
                try checkKeyUnchanged()
                guard var connection = try loadConnection(connectionID) else {
                    throw unknownConnection(connectionID)
                }
                let access = try secrets.seal(grant.accessToken, context: Self.accessTokenContext(connectionID))
                let refresh = try grant.refreshToken.map {
                    try secrets.seal($0, context: Self.refreshTokenContext(connectionID))
                }
                try database.execute(
                    "UPDATE connections SET access_token = ?, refresh_token = ? WHERE id = ?",
                    [access, refresh, connectionID])
                connection.accessFingerprint = grant.accessToken.fingerprint
                connection.refreshFingerprint = grant.refreshToken?.fingerprint
                connection.grant = grant.refreshToken == nil ? .none : .refreshToken
                connection.issuedAt = at
                connection.expiresAt = grant.expiresIn.map { at.addingTimeInterval($0) }
                connection.expiryAssumed = grant.expiryAssumed
                connection.grantedScopes = grantedScopes
                connection.lastRefreshAt = at
                connection.secretSetAt = at
                connection.failures = 0
                connection.lastError = nil
                connection.retryAt = nil
                connection.reauthReason = nil
                connection.revokedAt = nil
                connection.revokedAtProvider = false
                try updateFacts(connection)
                try markChanged(connectionID)
                try insertHistory(
                    HistoryEntry(at: at, connectionID: connectionID, kind: .reauthorized, message: message),
                    shown: true)
                return connection
            }
        }
    }
}
