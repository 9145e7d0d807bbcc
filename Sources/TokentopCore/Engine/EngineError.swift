/// An operator's request that the core cannot carry out, with a message that says why and what to do.
public struct EngineError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case unknownConnection = "unknown_connection"
        case notRenewable = "not_renewable"
        case alreadyRevoked = "already_revoked"
        case revocationFailed = "revocation_failed"
        /// Revoked, and the grant with its refresh token at the provider, but the access token's revocation failed.
        case revocationIncomplete = "revocation_incomplete"
        case storage
        /// Another process refreshed, changed or revoked the connection while this one refreshed it: this result
        /// was discarded.
        case superseded
        /// Another process held the connection's refresh lease for as long as this one could wait.
        case busy
        case readOnly = "read_only"
        /// A stop began before the refresh's request was sent: nothing was sent.
        case stopped
        /// An operator interrupted a revocation (Ctrl-C); the message says whether its request was sent.
        case interrupted
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
