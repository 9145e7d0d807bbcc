import CCrypto
import Foundation

/// A secret value: a token, a key or a client secret.
///
/// Its descriptions never reveal the value, so a `Secret` that reaches a log line, a string interpolation or a
/// debugger shows only its fingerprint.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself. Read it only to put it on the wire or into ``SecretBox``.
    public let value: String

    public init(_ value: String) { self.value = value }

    /// The first 4 characters and a SHA-256 prefix, for example `gho_…3fa9c1d2`.
    ///
    /// Short secrets show no characters at all, only the hash prefix.
    // FIXME: the hash is unkeyed, so a weak secret (a basic-auth `user:pw`, a short key) can be guessed offline from
    // a fingerprint in `list --json`, `show` or an export; an HMAC under a subkey of the store's key would stop that.
    public var fingerprint: String {
        let digest = SHA256Digest.hex(of: Data(value.utf8)).prefix(8)
        let lead = value.count >= 16 ? String(value.prefix(4)) : ""
        return "\(lead)…\(digest)"
    }

    public var description: String { "Secret(\(fingerprint))" }
    public var debugDescription: String { description }
}

/// SHA-256 through libcrypto.
enum SHA256Digest {
    static func bytes(of data: Data) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        data.withUnsafeBytes { raw in
            _ = EVP_Digest(raw.baseAddress, raw.count, &out, &length, EVP_sha256(), nil)
        }
        return Array(out.prefix(Int(length)))
    }

    static func hex(of data: Data) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes(of: data) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
