import Foundation

/// Compact JWS (RFC 7515 §7.1) carrying a JWT claims set (RFC 7519), signed with a ``SigningKey``.
///
/// Claims are written in the order given, so an assertion reads the way the provider's documentation shows it and
/// two runs with the same clock produce the same bytes.
enum JWT {
    /// A claim's value: the few JSON shapes OAuth assertions use.
    enum Value: Equatable, Sendable {
        case string(String)
        /// A NumericDate or any other integer.
        case integer(Int)
        /// An array of strings, such as several audiences.
        case strings([String])
    }

    /// Claims (or header members) in the order they are written.
    typealias Members = [(name: String, value: Value)]

    /// `header.payload.signature`, signed with `key`'s algorithm.
    /// - Parameters:
    ///   - claims: the claims set, in order.
    ///   - key: the signing key; its algorithm becomes the `alg` header member.
    ///   - keyID: the `kid` header member, when the provider wants to know which of the app's keys signed.
    /// - Throws: ``SigningKeyError`` when OpenSSL cannot sign.
    static func sign(claims: Members, key: SigningKey, keyID: String? = nil) throws(SigningKeyError) -> String {
        var header: Members = [("alg", .string(key.algorithm.rawValue)), ("typ", .string("JWT"))]
        if let keyID { header.append(("kid", .string(keyID))) }
        let signingInput = base64URL(Array(json(header).utf8)) + "." + base64URL(Array(json(claims).utf8))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + base64URL(signature)
    }

    /// A NumericDate (RFC 7519 §2): whole seconds since the epoch, rounded down.
    static func numericDate(_ date: Date) -> Int {
        Int(date.timeIntervalSince1970.rounded(.down))
    }

    // MARK: - Encoding

    /// base64url without padding (RFC 7515 §2, Appendix C).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// The bytes of base64url text without padding; nil when it is not that.
    static func base64URLDecode(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return nil
        }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard standard.count % 4 != 1 else { return nil }
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }

    /// A JSON object of `members`, in order, without insignificant whitespace (RFC 8259).
    static func json(_ members: Members) -> String {
        let body = members.map { name, value in
            let encoded =
                switch value {
                case .string(let text): quote(text)
                case .integer(let number): String(number)
                case .strings(let texts): "[" + texts.map(quote).joined(separator: ",") + "]"
                }
            return quote(name) + ":" + encoded
        }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// A JSON string literal; escapes what RFC 8259 §7 requires and nothing else.
    static func quote(_ text: String) -> String { JSONValue.quoted(text) }
}
