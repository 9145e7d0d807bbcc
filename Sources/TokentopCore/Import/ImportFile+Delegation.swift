import Foundation

/// The import keys of derived grants: on-behalf-of and token exchange take their upstream token from a parent
/// connection, and a token exchange may name the services its new token is for.
extension ImportFile {
    /// `audience` or `resource` of an integration: one string or an array of strings (RFC 8693 §2.1 lets both
    /// repeat).
    static func exchangeTargets(_ reader: ImportFieldReader, _ key: String) throws -> [String] {
        guard let value = reader.value(key) else { return [] }
        let values: [String]
        let single: Bool
        if case .string = value {
            guard let text = try reader.string(key), !text.isEmpty else {
                throw reader.fail(key, "must not be empty; leave it out instead")
            }
            values = [text]
            single = true
        } else {
            values = try reader.strings(key) ?? []
            single = false
        }
        for (index, text) in values.enumerated() {
            let field = single ? key : "\(key)[\(index)]"
            if text.unicodeScalars.contains(where: { SafeText.isUnsafe($0) || $0 == " " }) {
                throw reader.fail(field, "must not contain spaces or control characters")
            }
            // RFC 8707 §2: a resource is an absolute URI without a fragment.
            if key == "resource" {
                guard let url = URL(string: text), url.scheme != nil, url.fragment == nil else {
                    throw reader.fail(
                        field, "expected an absolute URI without a fragment, such as \"https://api.example.com\"")
                }
                try reader.refuseUserInfo(text, field)
            }
        }
        return values
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
