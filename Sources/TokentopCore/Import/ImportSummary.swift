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

    /// Creates a summary; all counts default to zero.
    public init(
        integrationsAdded: Int = 0, integrationsUpdated: Int = 0, connectionsAdded: Int = 0,
        connectionsUpdated: Int = 0
    ) {
        self.integrationsAdded = integrationsAdded
        self.integrationsUpdated = integrationsUpdated
        self.connectionsAdded = connectionsAdded
        self.connectionsUpdated = connectionsUpdated
    }

    /// For example `integrations: 1 added, 0 updated; connections: 3 added, 1 updated`.
    public var description: String {
        "integrations: \(integrationsAdded) added, \(integrationsUpdated) updated; "
            + "connections: \(connectionsAdded) added, \(connectionsUpdated) updated"
    }
}
