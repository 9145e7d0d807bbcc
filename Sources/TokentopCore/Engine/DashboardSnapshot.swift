import Foundation

/// An immutable picture of the core's state, which the front end renders without touching the store or network.
public struct DashboardSnapshot: Sendable {
    /// Increases each time anything in the snapshot changes, so a reader can skip rebuilding its rows.
    public var version: UInt64
    /// The database the core runs on, as the user named it.
    public var databasePath: String
    /// Every connection, ordered by scope and then by id.
    public var connections: ConnectionList
    public var integrations: [String: Integration]
    /// Connections whose refresh is in flight.
    public var inFlight: Set<String>
    /// The newest actor and operator events, oldest first by time: one that another process wrote before the newest
    /// shown here, and that the history feed brings only now, takes its place by time rather than the end.
    public var events: [HistoryEntry]
    /// Full histories loaded on request (``Engine/requestHistory(for:)``), by connection id.
    public var histories: [String: [HistoryEntry]]
    /// The next time the refresh actor will act, if anything is scheduled.
    public var nextDue: Date?
    public var policy: RefreshPolicy
    /// A problem the whole dashboard should show, such as a database that cannot be written.
    public var notice: String?
    /// Stored connections whose rows cannot be read, by id: left out of ``connections``, and not refreshed.
    public var unreadable: [UnreadableConnection] = []
    /// How many events were ever appended; the last of ``arrivals`` is number `eventsAppended`. Lets a reader that
    /// polls pick up exactly the events it has not seen, even several within one clock tick.
    public var eventsAppended: Int = 0
    /// The newest events in the order they arrived (at least the last ``EngineState/eventLimit``), for
    /// ``EventCursor``: an event placed by its time among ``events`` is still new to whoever polls.
    var arrivals: [HistoryEntry] = []
    /// Whether the engine runs read-only: the header shows a lock, and refresh, revoke and re-auth are refused.
    public var readOnly = false
    /// Each connection's index in `connections`, by id; kept by whoever changes the order of `connections`.
    var positions: [String: Int]
    /// Providers whose refreshes are paused because they fail for everyone: one banner line each.
    public var outages: [ProviderOutage]
    /// Refreshes this process completed since it started; those of other processes it follows are not counted.
    public var refreshesHere = 0
    /// The engine's running count of each status and the moment it holds for; nil in a snapshot built by hand.
    var tally: (counts: [ConnectionStatus: Int], at: Date)?

    public init(
        version: UInt64 = 0, databasePath: String, connections: [Connection] = [],
        integrations: [String: Integration] = [:], inFlight: Set<String> = [], events: [HistoryEntry] = [],
        histories: [String: [HistoryEntry]] = [:], nextDue: Date? = nil, policy: RefreshPolicy = .standard,
        notice: String? = nil, outages: [ProviderOutage] = []
    ) {
        self.version = version
        self.databasePath = databasePath
        self.connections = ConnectionList(connections)
        self.integrations = integrations
        self.inFlight = inFlight
        self.events = events
        self.histories = histories
        self.nextDue = nextDue
        self.policy = policy
        self.notice = notice
        positions = Self.positions(of: connections)
        self.outages = outages
    }

    /// The status of `connection` at `now`; a derived connection's also depends on its parent's.
    public func status(of connection: Connection, at now: Date) -> ConnectionStatus {
        let parent = connection.grant.derivesFromParent ? self.parent(of: connection) : nil
        return connection.status(at: now, inFlight: inFlight, policy: policy, parent: parent)
    }

    /// How many connections have each status at `now`.
    ///
    /// A snapshot from the engine carries counts it keeps current (see `StatusTally`), taken when the snapshot was;
    /// within a second of that they are returned as they are, so a frame never scans every connection. Otherwise,
    /// and for snapshots built by hand, every connection is counted.
    public func counts(at now: Date) -> [ConnectionStatus: Int] {
        if let tally, now >= tally.at, now.timeIntervalSince(tally.at) < 1 {
            return tally.counts.filter { $0.value > 0 }
        }
        var counts: [ConnectionStatus: Int] = [:]
        for connection in connections { counts[status(of: connection, at: now), default: 0] += 1 }
        return counts
    }
}

/// What the operator is told when a connection needs a human to authorize it again.
public struct ReauthPrompt: Sendable, Equatable {
    public var connectionID: String
    /// Who must act, for example "the user alice@example.com must sign in again".
    public var who: String
    /// Why, in the provider's words when it gave any.
    public var reason: String
    /// Where to start the authorization, when the integration has a known authorization URL.
    public var url: String?

    public init(connectionID: String, who: String, reason: String, url: String? = nil) {
        self.connectionID = connectionID
        self.who = who
        self.reason = reason
        self.url = url
    }
}
