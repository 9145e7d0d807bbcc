import CCrypto
import Foundation

/// The one type through which every secret column is written and read.
///
/// Each value is sealed with AES-256-GCM under a fresh random 12-byte nonce, and the value's place in the
/// database (for example `connections/acme-alice/access_token`) is the additional authenticated data, so a sealed
/// value copied into another row or column fails to open. The stored form is a version byte, the nonce, the
/// ciphertext and the 16-byte tag.
///
/// The key comes from `TOKENTOP_KEY` (base64 of 32 bytes) or from a key file, which only a command that writes
/// secrets creates (``load(environment:createKey:)``). A box loaded without a key, for a command that only reads,
/// opens and seals nothing: each attempt throws an error that says where the key was looked for.
public final class SecretBox: @unchecked Sendable {
    // @unchecked Sendable: the key buffer is written once in `init` and only read afterwards, until `deinit` wipes
    // it; every `seal` and `open` uses its own cipher context, so concurrent calls share nothing mutable.

    /// The environment variable that carries the key as base64 of 32 bytes.
    public static let keyVariable = "TOKENTOP_KEY"
    static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16
    static let formatVersion: UInt8 = 1

    /// Where the key came from, for messages: `TOKENTOP_KEY`, `key file PATH`, `a random key`, `a given key`, or
    /// `no key` when none exists yet.
    public let keySource: String
    /// Nil in a box loaded without a key.
    private let key: UnsafeMutableBufferPointer<UInt8>?
    /// The key file that did not exist, in a box without a key.
    let missingKeyFile: String?
    /// The key file that loading this box created, which an import that fails in the store it created takes away
    /// again (see ``NewStoreFiles``).
    let createdKeyFile: String?

    /// Whether the box has a key; a box without one seals and opens nothing.
    public var hasKey: Bool { key != nil }

    /// Creates a box with a 32-byte key, for tests and for callers that manage the key themselves.
    public convenience init(key: [UInt8]) {
        self.init(key: key, source: "a given key")
    }

    /// - Parameter createdKeyFile: the key file the key was just written to, by this process.
    init(key bytes: [UInt8], source: String, createdKeyFile: String? = nil) {
        precondition(bytes.count == Self.keyLength, "SecretBox needs a key of exactly 32 bytes")
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Self.keyLength)
        _ = buffer.initialize(from: bytes)
        key = buffer
        keySource = source
        missingKeyFile = nil
        self.createdKeyFile = createdKeyFile
    }

    /// A box without a key: `TOKENTOP_KEY` is unset and `keyFile` does not exist.
    private init(missingKeyFile keyFile: String) {
        key = nil
        missingKeyFile = keyFile
        keySource = "no key"
        createdKeyFile = nil
    }

    deinit {
        guard let key else { return }
        OPENSSL_cleanse(key.baseAddress, key.count)
        key.deallocate()
    }

    /// A box with a fresh random key that exists only in memory, for the demo and for tests.
    public static func ephemeral() -> SecretBox {
        var bytes = [UInt8](repeating: 0, count: keyLength)
        precondition(RAND_bytes(&bytes, Int32(keyLength)) == 1, "the system's random number generator failed")
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        return SecretBox(key: bytes, source: "a random key")
    }

    /// The box for this user: the key from `TOKENTOP_KEY`, else from `<config directory>/key`.
    ///
    /// A key file that other users could read is refused rather than used.
    /// - Parameter createKey: whether a missing key file is created (mode 0600, its directory 0700), for a command
    ///   that writes secrets; otherwise a missing key gives a box without one (see ``hasKey``), and nothing is
    ///   created.
    /// - Throws: ``StoreError`` with code `badKey` when the key is malformed or stored unsafely.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, createKey: Bool = true
    ) throws -> SecretBox {
        if let text = environment[keyVariable], !text.isEmpty {
            var bytes = try decodeKey(text, origin: keyVariable, path: nil)
            defer { OPENSSL_cleanse(&bytes, bytes.count) }
            return SecretBox(key: bytes, source: keyVariable)
        }
        let path = keyFilePath(environment: environment)
        // Matched straight from the call, so that `bytes` holds the only copy of the key that the cleanse wipes.
        guard
            case (var bytes, let created)? =
                try createKey ? KeyFile.readOrCreate(path: path) : KeyFile.read(path: path).map({ ($0, false) })
        else { return SecretBox(missingKeyFile: path) }
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        return SecretBox(key: bytes, source: "key file \(path)", createdKeyFile: created ? path : nil)
    }

    /// The error of a box without a key, for `what` (for example `the secrets of PATH`): where the key was looked
    /// for, and how to give one.
    func missingKey(_ what: String, path: String?) -> StoreError {
        StoreError(
            .badKey,
            "no key to open \(what): \(Self.keyVariable) is unset or empty and there is no key file at "
                + "\(missingKeyFile ?? "?"); set \(Self.keyVariable) to the key the store was created with, or put "
                + "its key file back (mode 0600); nothing was created", path: path ?? missingKeyFile)
    }

    /// `<config directory>/key`, where ``load(environment:)`` looks for the key when `TOKENTOP_KEY` is unset.
    public static func keyFilePath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        Paths.configDirectory(environment: environment) + "/key"
    }

    static func decodeKey(_ text: String, origin: String, path: String?) throws -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed), data.count == keyLength else {
            // Never echo the value: it may be a real key with a typo.
            throw StoreError(
                .badKey,
                "\(origin) is not the base64 of 32 bytes; generate a key with `openssl rand -base64 32`, "
                    + "or use the one this database was created with", path: path)
        }
        return [UInt8](data)
    }

    // MARK: - Sealing

    /// Encrypts `secret` for the place `context` names, such as `connections/acme-alice/access_token`.
    public func seal(_ secret: Secret, context: String) throws -> [UInt8] {
        guard let key else { throw missingKey(context, path: nil) }
        var plaintext = Array(secret.value.utf8)
        defer { OPENSSL_cleanse(&plaintext, plaintext.count) }
        var nonce = [UInt8](repeating: 0, count: Self.nonceLength)
        guard RAND_bytes(&nonce, Int32(Self.nonceLength)) == 1 else {
            throw StoreError(.crypto, "the system's random number generator failed; cannot encrypt \(context)")
        }
        guard let cipher = EVP_CIPHER_CTX_new() else { throw cryptoFailure("encrypt", context) }
        defer { EVP_CIPHER_CTX_free(cipher) }
        let aad = Array(context.utf8)
        // GCM is a stream mode: the ciphertext is as long as the plaintext; one spare block keeps OpenSSL honest.
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: Self.tagLength)
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        guard EVP_EncryptInit_ex2(cipher, EVP_aes_256_gcm(), key.baseAddress, nonce, nil) == 1,
            EVP_EncryptUpdate(cipher, nil, &written, aad, Int32(aad.count)) == 1,
            EVP_EncryptUpdate(cipher, &ciphertext, &written, plaintext, Int32(plaintext.count)) == 1,
            ciphertext.withUnsafeMutableBufferPointer({ out in
                EVP_EncryptFinal_ex(cipher, out.baseAddress! + Int(written), &finalWritten)
            }) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), &tag) == 1
        else { throw cryptoFailure("encrypt", context) }
        return [Self.formatVersion] + nonce + ciphertext.prefix(Int(written + finalWritten)) + tag
    }

    /// Decrypts a value sealed for `context`.
    /// - Throws: ``StoreError`` with code `cannotDecrypt` when the key is wrong, the value was altered, or it
    ///   belongs to another place.
    public func open(_ sealed: [UInt8], context: String) throws -> Secret {
        try open(sealed, context: context, describing: context, path: nil)
    }

    /// Decrypts a value sealed for `context`; errors call it `describing` and carry `path`.
    func open(_ sealed: [UInt8], context: String, describing: String, path: String?) throws -> Secret {
        guard let key else { throw missingKey(describing, path: path) }
        let overhead = 1 + Self.nonceLength + Self.tagLength
        guard sealed.count >= overhead else { throw damaged(describing, path, "it is too short") }
        guard sealed[0] == Self.formatVersion else {
            throw damaged(
                describing, path,
                "it is in no format this tokentop knows (version byte \(sealed[0])): it was altered, or sealed by a "
                    + "newer tokentop")
        }
        let nonce = Array(sealed[1..<(1 + Self.nonceLength)])
        let ciphertext = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        var tag = Array(sealed.suffix(Self.tagLength))
        guard let cipher = EVP_CIPHER_CTX_new() else { throw cryptoFailure("decrypt", context) }
        defer { EVP_CIPHER_CTX_free(cipher) }
        let aad = Array(context.utf8)
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        defer { OPENSSL_cleanse(&plaintext, plaintext.count) }
        var written: Int32 = 0
        var finalWritten: Int32 = 0
        guard EVP_DecryptInit_ex2(cipher, EVP_aes_256_gcm(), key.baseAddress, nonce, nil) == 1,
            EVP_DecryptUpdate(cipher, nil, &written, aad, Int32(aad.count)) == 1,
            EVP_DecryptUpdate(cipher, &plaintext, &written, ciphertext, Int32(ciphertext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(cipher, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), &tag) == 1
        else { throw cryptoFailure("decrypt", context) }
        // The tag is checked here; a wrong key, an altered byte and a foreign context all fail the same way.
        let verified = plaintext.withUnsafeMutableBufferPointer { out in
            EVP_DecryptFinal_ex(cipher, out.baseAddress! + Int(written), &finalWritten)
        }
        guard verified == 1 else {
            ERR_clear_error()
            throw StoreError(
                .cannotDecrypt,
                "cannot decrypt \(describing): wrong \(Self.keyVariable) or key file? This tokentop uses "
                    + "\(keySource); use the key the database was created with; nothing was changed", path: path)
        }
        guard let text = String(validating: plaintext.prefix(Int(written + finalWritten)), as: UTF8.self) else {
            throw damaged(describing, path, "it is not UTF-8 text")
        }
        return Secret(text)
    }

    private func damaged(_ describing: String, _ path: String?, _ why: String) -> StoreError {
        StoreError(.cannotDecrypt, "cannot decrypt \(describing): \(why); import the credential again", path: path)
    }

    private func cryptoFailure(_ action: String, _ context: String) -> StoreError {
        let code = ERR_get_error()
        ERR_clear_error()
        return StoreError(.crypto, "OpenSSL failed to \(action) \(context) (error \(code)); check the OpenSSL install")
    }
}
