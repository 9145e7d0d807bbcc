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
        return "integrations: \(integrationsAdded) added, \(integrationsUpdated) updated; "
            + "connections: \(connectionsAdded) added, \(connectionsUpdated) updated"
    }
}
