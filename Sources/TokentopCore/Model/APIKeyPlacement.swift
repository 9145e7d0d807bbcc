/// Where a request carries an API key: a named header or a named query parameter.
public struct APIKeyPlacement: Codable, Sendable, Equatable {
    /// The two places a key can travel.
    public enum Location: String, Codable, Sendable, CaseIterable {
        case header
        case query
    }

    /// Header or query parameter.
    public var location: Location
    /// The header's or parameter's name, for example `X-API-Key` or `api_key`.
    public var name: String

    /// Creates a placement.
    public init(location: Location, name: String) {
        self.location = location
        self.name = name
    }
}
