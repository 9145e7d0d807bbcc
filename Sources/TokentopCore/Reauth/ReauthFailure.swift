/// Why a re-authorization did not finish, with a message for the person at the terminal.
///
/// Whatever the reason, nothing of the attempt was stored: the connection keeps the tokens and state it had.
public struct ReauthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: String, Sendable, Equatable {
        /// No connection has the given id.
        case unknownConnection = "unknown_connection"
        /// The connection is not one a user signs in to from here (org, delegated, workspace, bot, or not OAuth).
        case notInteractive = "not_interactive"
        /// This process runs read-only (`--readonly`, or `readonly` in the configuration).
        case readOnly = "read_only"
        /// The integration lacks what a sign-in needs: an endpoint, a loopback redirect URI.
        case configuration
        /// The loopback listener could not start, for example because the redirect URI's port is taken.
        case listenerFailed = "listener_failed"
        /// No redirect or approval came back in time.
        case timedOut = "timed_out"
        /// The redirect carried a `state` other than the one sent: not the answer to this request. The loopback
        /// listener ignores such a request and keeps waiting, so a sign-in does not end with this code; it stays
        /// as the guard that keeps such a redirect's code from being exchanged.
        case wrongState = "wrong_state"
        /// The user refused consent (`access_denied`).
        case denied
        /// The device code expired before the user approved it (`expired_token`).
        case expired
        /// The provider refused or failed: an error in the redirect, at the device or the token endpoint.
        case provider
        /// The operator cancelled, or tokentop stopped.
        case cancelled
        /// The database could not be read or written.
        case storage
        /// Someone other than the connection's subject signed in, as the provider's ID token says.
        case wrongUser = "wrong_user"
    }

    /// The kind of failure.
    public var code: Code
    /// What happened and what to do about it, in one or two sentences; never a secret.
    public var message: String
    /// The provider's error, verbatim, when the provider gave one.
    public var providerError: ProviderError?

    /// Creates a failure; `message` should say what to do.
    public init(_ code: Code, _ message: String, providerError: ProviderError? = nil) {
        self.code = code
        self.message = message
        self.providerError = providerError
    }

    public var description: String { message }
}
