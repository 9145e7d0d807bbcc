import Foundation

/// A successful token endpoint answer (RFC 6749 §5.1), parsed.
public struct TokenGrant: Sendable, Equatable {
    public var accessToken: Secret
    /// The new refresh token, when the provider rotated it or issued one; nil means keep the old one.
    public var refreshToken: Secret?
    /// Lifetime in seconds from the moment of the answer, when the provider said.
    public var expiresIn: Double?
    /// Whether ``expiresIn`` was assumed by tokentop because the answer gave no expiry; the parser never sets it.
    public var expiryAssumed = false
    /// Why the answer's `expires_in` or `expires_at` gave no lifetime (0, negative, not a number, already past),
    /// such as "the answer's expires_in was 0"; nil when it gave one or carried none.
    public var unusableExpiry: String?
    /// Why ``expiresIn`` is shorter than the answer said (more than ten years, kept as ten), for the history.
    public var shortenedExpiry: String?
    /// The granted scopes, when the provider said; nil means unchanged (RFC 6749 §5.1).
    public var scopes: [String]?
    public var tokenType: String
    /// Who the answer's OpenID Connect ID token says signed in; nil when it carried none that could be read.
    public var signedInUser: SignedInUser?

    public init(
        accessToken: Secret, refreshToken: Secret? = nil, expiresIn: Double? = nil, scopes: [String]? = nil,
        tokenType: String = "Bearer"
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expiresIn = expiresIn
        self.scopes = scopes.map(Self.storable)
        self.tokenType = tokenType
    }

    /// The scopes as the store can keep them and a restored export can bring them back: each control or invisible
    /// character shown as U+FFFD, and empty entries, entries longer than an imported field may be, and entries past
    /// the most an import takes, left out. A provider's scope text is shown, never obeyed, so it is kept readable
    /// rather than refused along with the tokens it came with.
    static func storable(_ scopes: [String]) -> [String] {
        let kept = scopes.lazy.map(SafeText.clean).filter {
            !$0.isEmpty && $0.utf8.count <= ImportFieldReader.maximumStringBytes
        }
        return Array(kept.prefix(ImportFieldReader.maximumListCount))
    }
}

/// One entry of a connection's history: what the refresh actor or an operator did, and how it ended.
public struct HistoryEntry: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case imported
        case refreshed
        case refreshFailed = "refresh_failed"
        case needsReauth = "needs_reauth"
        case revoked
        /// A revocation the provider refused or never answered; nothing was revoked, here or there.
        case revocationFailed = "revocation_failed"
        case reauthRequested = "reauth_requested"
        /// A user signed in again and the connection got new tokens.
        case reauthorized
        /// A sign-in started here did not finish (denied, expired, cancelled, refused); nothing was stored.
        case reauthFailed = "reauth_failed"
        /// A static credential's probe succeeded where the one before did not (or there was none).
        case probeOK = "probe_ok"
        /// A static credential's probe failed for a reason other than a rejected credential.
        case probeFailed = "probe_failed"
        /// An operator deleted the connection (`tokentop delete`); its other entries went with it.
        case deleted
    }

    public var at: Date
    public var connectionID: String
    public var kind: Kind
    /// One line that says what happened; never a secret.
    public var message: String
    public var error: ProviderError?
    /// Whether another process (a daemon, a CLI command, another dashboard) did this; this process read it from the
    /// store. Not stored: it says where the entry came from as seen by this process.
    public var byAnotherProcess: Bool

    public init(
        at: Date, connectionID: String, kind: Kind, message: String, error: ProviderError? = nil,
        byAnotherProcess: Bool = false
    ) {
        self.at = at
        self.connectionID = connectionID
        self.kind = kind
        self.message = message
        self.error = error
        self.byAnotherProcess = byAnotherProcess
    }

    private enum CodingKeys: String, CodingKey {
        case at, connectionID, kind, message, error
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            at: try container.decode(Date.self, forKey: .at),
            connectionID: try container.decode(String.self, forKey: .connectionID),
            kind: try container.decode(Kind.self, forKey: .kind),
            message: try container.decode(String.self, forKey: .message),
            error: try container.decodeIfPresent(ProviderError.self, forKey: .error))
    }
}
