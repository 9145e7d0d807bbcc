import Foundation

/// The settings an operator can choose, each in the configuration file, most also as a flag.
///
/// Every member is optional: nil means "not said here". ``EffectiveConfiguration`` layers the built-in defaults,
/// the file, the environment and the flags, in that order.
public struct Settings: Sendable, Equatable {
    /// The shortest refresh lead window, in seconds (`lead_seconds`, `--lead`).
    public var leadSeconds: Double?
    /// Refreshes in flight at once (`concurrency`, `--concurrency`).
    public var concurrency: Int?
    /// The dashboard's theme (`theme`, `--theme`).
    public var theme: String?
    /// Where theme files live (`themes_dir`, `--themes`).
    public var themesDirectory: String?
    /// No refresh, revoke or re-auth from this process (`readonly`, `--readonly`).
    public var readOnly: Bool?
    /// The daemon's log file instead of standard error (`log_file`, `--log`).
    public var logFile: String?
    /// Where to write Prometheus text exposition (`metrics_file`, `--metrics`).
    public var metricsFile: String?
    /// A command run for each event, with the event as JSON on its standard input (`on_event`, `--on-event`).
    public var onEvent: String?
    /// How long an event command may run before it is killed (`on_event_timeout_seconds`, `--on-event-timeout`).
    public var onEventTimeout: Double?
    /// History entries are kept this many days; 0 keeps them all (`history_days`, `--history-days`).
    public var historyDays: Double?
    /// A PEM file of certificate authorities trusted for providers' TLS besides the system's (`ca_file`,
    /// `--ca-file`).
    public var caFile: String?
    /// Key binding overrides of the dashboard: action name to key (`keys`; file only).
    public var keys: [String: String]?

    /// Creates settings that say nothing.
    public init() {}

    /// Every setting's name in the file, in the order `tokentop config` prints them.
    public static let names = [
        "lead_seconds", "concurrency", "theme", "themes_dir", "readonly", "log_file", "metrics_file", "on_event",
        "on_event_timeout_seconds", "history_days", "ca_file", "keys",
    ]

    /// Why `name` cannot name a theme, or nil when it can: a theme is the file `NAME.theme` in a themes
    /// directory, so a name is a plain file name without the suffix. One check for the dashboard, which loads the
    /// file, and for every command that reads the setting (`--theme`, `theme` in the file), so that `tokentop
    /// config` never shows as in force a theme the dashboard would refuse.
    public static func themeNameProblem(_ name: String) -> String? {
        guard name.allSatisfy(\.isWhitespace) || name.contains("/") || name.hasSuffix(".theme") else { return nil }
        return "a theme name is a file name without '/' or '.theme', such as 'default' or 'monochrome'"
    }

    /// The days `history_days` accepts: 0 keeps every entry, and a hundred years is as good as forever.
    public static let historyDaysRange = 0.0...36_500

    /// The seconds `on_event_timeout_seconds` and `--on-event-timeout` accept: long enough to start a shell, and
    /// at most ten minutes.
    public static let onEventTimeoutRange = 0.1...600.0

    /// `policy` with the lead window, concurrency and history retention these settings give, where they give them.
    public func applied(to policy: RefreshPolicy) -> RefreshPolicy {
        var policy = policy
        if let lead = leadSeconds { policy.minimumLead = lead }
        if let concurrency { policy.concurrency = concurrency }
        if let days = historyDays { policy.historyRetention = days > 0 ? days * 86_400 : nil }
        return policy
    }

    /// The dashboard actions whose keys the `keys` setting may change.
    public static let bindableActions = [
        "refresh", "revoke", "reauth", "help", "quit", "filter", "sort", "mark", "unmark", "details", "explain",
        "copy",
    ]

    /// Every character the dashboard's list answers to before any override, with what it does: a bindable action
    /// by its name, any other key by what it does. A `keys` override may take one only from an action that is
    /// given another key too. KeyMapTests checks this against the dashboard's own key table.
    public static let standardKeys: [String: String] = [
        "k": "cursor up", "j": "cursor down", "g": "first row", "G": "last row", "/": "filter",
        "1": "one scope", "2": "one scope", "3": "one scope", "4": "one scope", "5": "one scope",
        "0": "every scope", "s": "sort", " ": "mark", "r": "refresh", "x": "revoke", "a": "reauth", "i": "explain",
        "c": "copy", "?": "help", "q": "quit", "u": "unmark",
    ]
}
