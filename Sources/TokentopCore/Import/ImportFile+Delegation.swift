import Foundation

/// The import keys of derived grants: on-behalf-of and token exchange take their upstream token from a parent
/// connection, and a token exchange may name the services its new token is for.
extension ImportFile {
    /// `audience` or `resource` of an integration: one string or an array of strings (RFC 8693 §2.1 lets both
    /// repeat).
    static func exchangeTargets(_ reader: ImportFieldReader, _ key: String) throws -> [String] {
        guard let value = reader.value(key) else { return [] }
        let kind: ImportFieldReader.ListEntry = key == "resource" ? .resource : .audience
        guard case .string = value else { return try reader.strings(key, entries: kind) ?? [] }
        guard let text = try reader.string(key), !text.isEmpty else {
            throw reader.fail(key, "must not be empty; leave it out instead")
        }
        if let problem = ImportFieldReader.entryProblem(text, as: kind) { throw reader.fail(key, problem) }
        return [text]
    }

    /// On-behalf-of and token exchange mint the connection's token from its parent's access token: they need a
    /// parent, and they hold OAuth 2.0 tokens. Whether the parent exists is checked by the store.
    static func checkDerivedGrant(_ reader: ImportFieldReader, grant: GrantKind, parentID: String?) throws {
        guard grant == .onBehalfOf || grant == .tokenExchange else { return }
        guard parentID != nil else {
            let what =
                grant == .onBehalfOf
                ? "the id of the connection whose access token is sent as the assertion"
                : "the id of the connection whose access token is sent as the subject_token"
            throw reader.fail("parent", "missing; grant \(grant.rawValue) needs \(what)")
        }
    }
}
