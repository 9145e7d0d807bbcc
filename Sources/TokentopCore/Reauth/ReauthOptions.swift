/// How long a re-authorization waits for its human.
public struct ReauthOptions: Sendable, Equatable {
    /// Seconds to wait for the user; nil means ``defaultBrowserTimeout`` for the browser flow and the device
    /// code's own lifetime for the device flow.
    public var timeout: Double?

    /// Five minutes: time enough to sign in, short enough that a forgotten listener does not linger.
    public static let defaultBrowserTimeout = 300.0

    /// Creates options.
    public init(timeout: Double? = nil) {
        self.timeout = timeout
    }
}
