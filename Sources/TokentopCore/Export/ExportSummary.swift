/// How much of a store an export holds, or an import of an export restored.
public struct ExportSummary: Sendable, Equatable, CustomStringConvertible {
    /// Integrations, with their sealed client secrets or keys.
    public var integrations: Int
    /// Connections, with their sealed tokens.
    public var connections: Int
    /// History entries, with their numbers.
    public var history: Int
    /// Audit entries, with their hash chain.
    public var audit: Int

    /// Creates a summary; all counts default to zero.
    public init(integrations: Int = 0, connections: Int = 0, history: Int = 0, audit: Int = 0) {
        self.integrations = integrations
        self.connections = connections
        self.history = history
        self.audit = audit
    }

    /// For example `2 integrations, 5 connections, 31 history entries, 4 audit entries`.
    public var description: String {
        [
            counted(integrations, "integration"), counted(connections, "connection"),
            counted(history, "history entry", "history entries"), counted(audit, "audit entry", "audit entries"),
        ].joined(separator: ", ")
    }
}
