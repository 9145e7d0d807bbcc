import Foundation

/// What a refresh's outcome does to a connection, shared by the single write and the group commit.
extension Store {
    /// Seals a successful refresh's tokens and applies its facts to `connection`: new expiry, scopes, and every
    /// trace of earlier failures cleared.
    /// - Returns: the sealed access token, the sealed refresh token when the provider rotated it (nil keeps the
    ///   stored one), and the history entry.
    /// - Throws: ``StoreError`` `revoked` when the connection was revoked while the refresh was in flight.
    /// - Parameter sealed: the grant's tokens as ``seal(_:connectionID:)`` sealed them ahead of the transaction;
    ///   used when sealed with the store's key as it is now, else they are sealed here.
    func applySuccess(
        _ grant: TokenGrant, sealed: SealedGrant? = nil, message: String, at: Date, to connection: inout Connection
    ) throws -> (access: [UInt8], refresh: [UInt8]?, entry: HistoryEntry) {
        let id = connection.id
        guard connection.revokedAt == nil else { throw revokedWhileInFlight(id) }
        let current = secrets
        let ahead = sealed.flatMap { $0.box === current ? $0 : nil }
        let tokens = try ahead ?? seal(grant, connectionID: id, with: current)
        connection.accessFingerprint = tokens.accessFingerprint
        if let refreshFingerprint = tokens.refreshFingerprint { connection.refreshFingerprint = refreshFingerprint }
        let (access, refresh) = (tokens.access, tokens.refresh)
        connection.issuedAt = at
        connection.expiresAt = grant.expiresIn.map { at.addingTimeInterval($0) }
        // Cleared as soon as an answer carries an expiry again.
        connection.expiryAssumed = grant.expiryAssumed
        if let scopes = grant.scopes { connection.grantedScopes = scopes }
        connection.lastRefreshAt = at
        connection.failures = 0
        connection.lastError = nil
        connection.retryAt = nil
        connection.reauthReason = nil
        return (access, refresh, HistoryEntry(at: at, connectionID: id, kind: .refreshed, message: message))
    }

    /// Seals `grant`'s tokens for connection `id` with the store's key, without taking the store's lock: the refresh
    /// actor seals on its own threads, so that the one thread writing the store only stores.
    func seal(_ grant: TokenGrant, connectionID id: String) throws -> SealedGrant {
        try seal(grant, connectionID: id, with: secrets)
    }

    private func seal(_ grant: TokenGrant, connectionID id: String, with box: SecretBox) throws -> SealedGrant {
        SealedGrant(
            box: box, access: try box.seal(grant.accessToken, context: Self.accessTokenContext(id)),
            refresh: try grant.refreshToken.map { try box.seal($0, context: Self.refreshTokenContext(id)) },
            accessFingerprint: grant.accessToken.fingerprint, refreshFingerprint: grant.refreshToken?.fingerprint)
    }

    /// Applies a failed refresh to `connection`; its tokens stay as they are.
    /// - Returns: the history entry: `needsReauth` when a human must act, else `refreshFailed`.
    func applyFailure(
        _ error: ProviderError, retryAt: Date?, reauthReason: String?, at: Date, to connection: inout Connection
    ) -> HistoryEntry {
        connection.failures += 1
        connection.lastError = error
        connection.retryAt = retryAt
        if let reauthReason { connection.reauthReason = reauthReason }
        let kind: HistoryEntry.Kind = reauthReason == nil ? .refreshFailed : .needsReauth
        // The words the refresh actor's event uses, so the history and the dashboard agree.
        let message: String
        if let reauthReason {
            message = "needs re-auth: \(reauthReason)"
        } else if error.kind == .configuration {
            message = error.refreshFailureDetail(integrationID: connection.integrationID)
        } else {
            message = "refresh failed: \(error.summary)"
        }
        return HistoryEntry(at: at, connectionID: connection.id, kind: kind, message: message, error: error)
    }

    func revokedWhileInFlight(_ id: String) -> StoreError {
        StoreError(
            .revoked,
            "connection \(id) was revoked while its refresh was in flight; the new token was discarded; import or "
                + "re-authorize the connection to use it again", path: path)
    }
}

/// A grant's tokens sealed for one connection, and the key they were sealed with.
struct SealedGrant: Sendable {
    let box: SecretBox
    var access: [UInt8]
    var refresh: [UInt8]?
    var accessFingerprint: String
    var refreshFingerprint: String?
}
