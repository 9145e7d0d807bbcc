/// Why a private key could not be loaded or used, and what to do about it.
///
/// The `message` names the file (or the label the key was loaded under) and never contains key material.
public struct SigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: String, Sendable, Equatable {
        /// The file does not exist, cannot be read, or is not a regular file.
        case unreadable
        /// The text has no PEM armour (`-----BEGIN …-----`).
        case notPEM = "not_pem"
        /// The key is encrypted with a passphrase, which tokentop cannot ask for.
        case encrypted
        /// The armour holds something other than a private key: a public key, a certificate, an OpenSSH key.
        case notPrivateKey = "not_private_key"
        /// The armour is there, but what it holds is not a readable key.
        case malformed
        /// The key's type or size does not fit the algorithm (RS256: RSA ≥ 2048 bits; ES256: EC P-256).
        case wrongKeyType = "wrong_key_type"
        /// OpenSSL failed to sign.
        case signingFailed = "signing_failed"
    }

    /// The kind of failure.
    public var code: Code
    /// What happened and how to fix it, naming the key's file or label.
    public var message: String
    /// The key's file, when it was loaded from one.
    public var path: String?

    /// Creates an error; `message` should already name the key and say how to fix the problem.
    public init(_ code: Code, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    /// The message.
    public var description: String { message }
}
