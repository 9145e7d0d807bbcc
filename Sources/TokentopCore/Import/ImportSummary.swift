/// What an import changed in the store.
public struct ImportSummary: Sendable, Equatable, CustomStringConvertible {
    /// Integrations that were not in the store before.
    public var integrationsAdded: Int
    /// Integrations whose stored settings the import replaced.
    public var integrationsUpdated: Int
    /// Connections that were not in the store before.
    public var connectionsAdded: Int
    /// Connections whose stored credential the import replaced.
    public var connectionsUpdated: Int
    /// What a whole-store export restored, when the file was one (`tokentop export`); nil for an import file.
    public var wholeStore: ExportSummary?
    /// One line per updated connection whose stored tokens were kept because the file's are the older ones
    /// tokentop renewed since it last imported them: `acme-alice: kept the refresh token tokentop rotated …`.
    public var keptTokens: [String] = []

    /// Creates a summary; all counts default to zero.
    public init(
        integrationsAdded: Int = 0, integrationsUpdated: Int = 0, connectionsAdded: Int = 0,
        connectionsUpdated: Int = 0, wholeStore: ExportSummary? = nil
    ) {
        self.integrationsAdded = integrationsAdded
        self.integrationsUpdated = integrationsUpdated
        self.connectionsAdded = connectionsAdded
        self.connectionsUpdated = connectionsUpdated
        self.wholeStore = wholeStore
        if let wholeStore {
            self.integrationsAdded = wholeStore.integrations
            self.connectionsAdded = wholeStore.connections
        }
    }

    /// For example `integrations: 1 added, 0 updated; connections: 3 added, 1 updated`.
    public var description: String {
        if let wholeStore { return "whole store restored: \(wholeStore)" }
        let counts =
            "integrations: \(integrationsAdded) added, \(integrationsUpdated) updated; "
            + "connections: \(connectionsAdded) added, \(connectionsUpdated) updated"
        guard !keptTokens.isEmpty else { return counts }
        // A few by name; a fleet's worth would bury the counts (each connection's history names its own).
        let shown = keptTokens.prefix(Self.keptShown).joined(separator: "; ")
        let more = keptTokens.count - Self.keptShown
        return counts + "; " + shown
            + (more > 0 ? "; and \(more) more kept their renewed tokens (`tokentop show ID` tells which)" : "")
    }

    /// How many connections whose tokens were kept the summary names.
    static let keptShown = 3
}
