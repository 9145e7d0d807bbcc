import Foundation

/// Where a re-authorization stands: what the user must do now, or how it ended.
public enum ReauthProgress: Sendable, Equatable {
    /// Opening the loopback listener, or asking the device endpoint for a code.
    case starting(ReauthMethod)
    /// The user must open ``BrowserStep/url``; the listener waits for the redirect.
    case waitingForBrowser(BrowserStep)
    /// The user must enter ``DeviceStep/userCode`` at ``DeviceStep/verificationURI``; tokentop polls meanwhile.
    case waitingForDevice(DeviceStep)
    /// The user finished; the tokens are being fetched and stored.
    case exchanging(ReauthMethod)
    /// The tokens arrived, but the database cannot take them yet (locked by another process past its busy timeout,
    /// a full disk): they are held and tried again for up to a minute. The text is the database's problem.
    case waitingToStore(String)
    /// Stored: the connection as it is now.
    case succeeded(Connection)
    /// Ended without storing anything.
    case failed(ReauthFailure)

    /// The browser flow's instructions.
    public struct BrowserStep: Sendable, Equatable {
        /// The authorization request. It carries the PKCE challenge and `state`, never a secret.
        public var url: URL
        /// Where the browser comes back: `http://127.0.0.1:PORT/PATH`.
        public var redirectURI: String
        /// When the listener gives up.
        public var deadline: Date

        /// Creates the step.
        public init(url: URL, redirectURI: String, deadline: Date) {
            self.url = url
            self.redirectURI = redirectURI
            self.deadline = deadline
        }
    }

    /// The device flow's instructions (RFC 8628 §3.2).
    public struct DeviceStep: Sendable, Equatable {
        /// The code the user types.
        public var userCode: String
        /// Where the user types it.
        public var verificationURI: URL
        /// The same page with the code filled in, when the provider offers one.
        public var verificationURIComplete: URL?
        /// When the device code expires.
        public var expiresAt: Date
        /// Seconds between two polls of the token endpoint; `slow_down` adds 5.
        public var interval: Double

        /// Creates the step.
        public init(
            userCode: String, verificationURI: URL, verificationURIComplete: URL? = nil, expiresAt: Date,
            interval: Double
        ) {
            self.userCode = userCode
            self.verificationURI = verificationURI
            self.verificationURIComplete = verificationURIComplete
            self.expiresAt = expiresAt
            self.interval = interval
        }
    }

    /// Whether the re-authorization has ended, one way or the other.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed: true
        case .starting, .waitingForBrowser, .waitingForDevice, .exchanging, .waitingToStore: false
        }
    }

    /// What a user copies to finish: the URL to open (for the device flow the one with the code filled in, else
    /// the code itself); nil while there is nothing to copy.
    public var textToCopy: String? {
        switch self {
        case .waitingForBrowser(let step): step.url.absoluteString
        case .waitingForDevice(let step): step.verificationURIComplete?.absoluteString ?? step.userCode
        default: nil
        }
    }
}
