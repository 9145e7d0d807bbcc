import CCrypto
import Foundation

/// A private key that signs JWT assertions: RSA (≥ 2048 bits) for RS256, or EC P-256 for ES256.
///
/// It reads PEM in the three forms providers hand out: PKCS#8 (`BEGIN PRIVATE KEY`, Google service accounts),
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`, GitHub Apps) and SEC1 (`BEGIN EC PRIVATE KEY`). Its descriptions show the key
/// type, its size and a fingerprint of the public key, never the key itself.
public final class SigningKey: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // @unchecked Sendable: the EVP_PKEY is complete when `init` returns and nothing modifies it afterwards. OpenSSL 3
    // allows one unmodified key to be used from several threads at once, and every signature takes its own
    // EVP_MD_CTX, so concurrent `sign` calls share nothing mutable of ours. `deinit` frees it with the last reference.

    /// RSA keys shorter than this are refused for RS256 (RFC 7518 §3.3).
    public static let minimumRSABits = 2048
    /// Files larger than this are not PEM private keys (a 16384-bit RSA key is about 13 KB).
    static let maximumFileSize = 1 << 20

    /// The algorithm this key signs with.
    public let algorithm: SigningAlgorithm
    /// The key's type as OpenSSL names it: `RSA` or `EC`.
    public let keyType: String
    /// The key's size in bits: the RSA modulus, or 256 for P-256.
    public let bits: Int
    /// SHA-256 of the public key's DER SubjectPublicKeyInfo, in lower-case hex.
    ///
    /// The same value as `openssl pkey -in KEY -pubout -outform DER | sha256sum`, so an operator can match it.
    public let publicKeyFingerprint: String
    /// Where the key came from, as messages name it: `private key file PATH`, or the label given with the text.
    public let label: String
    /// The OpenSSL key; internal so the signing extension can reach it, never part of the public API.
    let pkey: OpaquePointer

    /// Loads a PEM private key from a file.
    /// - Parameters:
    ///   - path: the file, in PKCS#8, PKCS#1 or SEC1 PEM form, not encrypted.
    ///   - algorithm: the algorithm the key must fit; nil takes it from the key (RSA: RS256, EC P-256: ES256).
    /// - Throws: ``SigningKeyError`` naming the file and what is wrong with it.
    public convenience init(contentsOfFile path: String, algorithm: SigningAlgorithm? = nil) throws(SigningKeyError) {
        let label = "private key file \(path)"
        var bytes = try Self.readFile(path, label: label)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        let loaded = try Self.load(bytes, label: label, algorithm: algorithm, path: path)
        self.init(loaded, label: label)
    }

    /// Loads a PEM private key from text, for example a secret read from the store.
    /// - Parameters:
    ///   - pem: the PEM text, in PKCS#8, PKCS#1 or SEC1 form, not encrypted.
    ///   - label: how error messages and the description name the key, for example `the key of integration gh-app`.
    ///   - algorithm: the algorithm the key must fit; nil takes it from the key (RSA: RS256, EC P-256: ES256).
    /// - Throws: ``SigningKeyError`` naming `label` and what is wrong with the text.
    public convenience init(
        pem: String, label: String = "the PEM private key", algorithm: SigningAlgorithm? = nil
    ) throws(SigningKeyError) {
        var bytes = Array(pem.utf8)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        let loaded = try Self.load(bytes, label: label, algorithm: algorithm, path: nil)
        self.init(loaded, label: label)
    }

    private init(_ loaded: Loaded, label: String) {
        pkey = loaded.pkey
        algorithm = loaded.algorithm
        keyType = loaded.keyType
        bits = loaded.bits
        publicKeyFingerprint = loaded.fingerprint
        self.label = label
    }

    deinit { EVP_PKEY_free(pkey) }

    /// For example `SigningKey(RS256, RSA 2048 bits, public key sha256:3fa9c1d2e4b5a6f7)`.
    public var description: String {
        let fingerprint = publicKeyFingerprint.prefix(16)
        return "SigningKey(\(algorithm.rawValue), \(keyType) \(bits) bits, public key sha256:\(fingerprint))"
    }

    /// The same as ``description``: never the key.
    public var debugDescription: String { description }

    // MARK: - Loading

    /// A decoded key that passed every check, before it is wrapped.
    private struct Loaded {
        var pkey: OpaquePointer
        var algorithm: SigningAlgorithm
        var keyType: String
        var bits: Int
        var fingerprint: String
    }

    private static func load(
        _ bytes: [UInt8], label: String, algorithm: SigningAlgorithm?, path: String?
    ) throws(SigningKeyError) -> Loaded {
        func fail(_ code: SigningKeyError.Code, _ message: String) -> SigningKeyError {
            SigningKeyError(code, "\(label): \(message)", path: path)
        }
        let block = try privateKeyBlock(in: bytes, fail: fail, path: path)
        var blockBytes = Array(block.text.utf8)
        defer { OPENSSL_cleanse(&blockBytes, blockBytes.count) }
        OpenSSLErrorQueue.clear()
        let decoded: OpaquePointer? = blockBytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            // The callback refuses to supply a passphrase, so OpenSSL can never stop and prompt on the terminal.
            return PEM_read_bio_PrivateKey_ex(bio, nil, { _, _, _, _ in 0 }, nil, nil, nil)
        }
        guard let pkey = decoded else {
            throw fail(
                .malformed,
                "the -----BEGIN \(block.label)----- block holds no readable key "
                    + "(OpenSSL: \(OpenSSLErrorQueue.drain())); "
                    + "download or export the key again")
        }
        do throws(SigningKeyError) {
            let (algorithm, keyType, bits) = try check(pkey, algorithm: algorithm, fail: fail)
            // A key with one character changed in its PEM may still decode, and sign what nobody can verify.
            let context = EVP_PKEY_CTX_new(pkey, nil)
            defer { EVP_PKEY_CTX_free(context) }
            OpenSSLErrorQueue.clear()
            guard let context, EVP_PKEY_pairwise_check(context) == 1 else {
                throw fail(
                    .malformed,
                    "the key's parts do not fit together (OpenSSL: \(OpenSSLErrorQueue.drain())), so nothing it "
                        + "signs could be verified; download or export the key again")
            }
            let fingerprint = try publicKeyFingerprint(pkey, fail: fail)
            return Loaded(pkey: pkey, algorithm: algorithm, keyType: keyType, bits: bits, fingerprint: fingerprint)
        } catch {
            EVP_PKEY_free(pkey)
            throw error
        }
    }

    /// The one unencrypted private-key block of the text, or the error that says what the text is instead.
    private static func privateKeyBlock(
        in bytes: [UInt8], fail: (SigningKeyError.Code, String) -> SigningKeyError, path: String?
    ) throws(SigningKeyError) -> PEMArmor.Block {
        let armour = PEMArmor(String(decoding: bytes, as: UTF8.self))
        let file = path ?? "KEY.pem"
        if armour.blocks.isEmpty {
            throw fail(.notPEM, "not a PEM private key: \(notPEMHint(bytes, file: file))")
        }
        if armour.blocks.contains(where: \.isEncrypted) {
            throw fail(
                .encrypted,
                "the key is protected by a passphrase: encrypted keys are not supported; decrypt it with openssl pkey "
                    + "-in \(file) -out plain.pem, and keep plain.pem private")
        }
        let keys = armour.blocks.filter(\.isPrivateKey)
        guard let block = keys.first else {
            let labels = armour.blocks.map(\.label)
            if labels.contains("OPENSSH PRIVATE KEY") {
                throw fail(
                    .notPrivateKey,
                    "an OpenSSH private key, which tokentop cannot read; "
                        + "convert a copy with ssh-keygen -p -m PKCS8 -f COPY"
                )
            }
            let found = labels.map { "-----BEGIN \($0)-----" }.joined(separator: ", ")
            throw fail(
                .notPrivateKey,
                "holds \(found) but no private key; use the private key file the provider let you download "
                    + "(a BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY line)")
        }
        guard keys.count == 1 else {
            throw fail(.malformed, "holds \(keys.count) private keys; keep only the one registered with the provider")
        }
        guard block.complete else {
            throw fail(
                .malformed,
                "the -----BEGIN \(block.label)----- block has no -----END \(block.label)----- line; "
                    + "the key was cut short, copy it again")
        }
        return block
    }

    private static func notPEMHint(_ bytes: [UInt8], file: String) -> String {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return "it is empty" }
        // A DER private key is a SEQUENCE (0x30) long enough to need a multi-byte length (0x81 or 0x82).
        if bytes.count > 2, bytes[0] == 0x30, bytes[1] == 0x81 || bytes[1] == 0x82 {
            return "it looks like binary DER; convert it with openssl pkey -inform DER -in \(file) -out key.pem"
        }
        if text.hasPrefix("{") {
            return "it looks like JSON; a Google service-account file keeps the PEM key in its private_key member"
        }
        return "there is no BEGIN PRIVATE KEY line"
    }

    /// Fits the key to the algorithm: the one asked for, or the one its type implies.
    private static func check(
        _ pkey: OpaquePointer, algorithm: SigningAlgorithm?, fail: (SigningKeyError.Code, String) -> SigningKeyError
    ) throws(SigningKeyError) -> (SigningAlgorithm, String, Int) {
        let bits = Int(EVP_PKEY_get_bits(pkey))
        let isRSA = EVP_PKEY_is_a(pkey, "RSA") == 1
        let isEC = EVP_PKEY_is_a(pkey, "EC") == 1
        let curve = isEC ? groupName(pkey) : nil
        let isP256 = curve.map { ["prime256v1", "P-256", "secp256r1"].contains($0) } ?? false
        let typeName = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
        let found =
            isRSA
            ? "a \(bits)-bit RSA key"
            : isEC ? "an EC key on the \(curve ?? "unknown") curve" : "a key of type \(typeName)"

        guard let wanted = algorithm ?? (isRSA ? .rs256 : isP256 ? .es256 : nil) else {
            throw fail(
                .wrongKeyType,
                "holds \(found); tokentop signs with RS256 (\(SigningAlgorithm.rs256.requirement)) or ES256 "
                    + "(\(SigningAlgorithm.es256.requirement))")
        }
        switch wanted {
        case .rs256 where !isRSA, .es256 where !isP256:
            throw fail(.wrongKeyType, "holds \(found), but \(wanted.rawValue) needs \(wanted.requirement)")
        case .rs256 where bits < minimumRSABits:
            throw fail(
                .wrongKeyType,
                "holds \(found), too short: RS256 needs at least \(minimumRSABits) bits; generate a new key "
                    + "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) and register it with the provider"
            )
        case .rs256: return (.rs256, "RSA", bits)
        case .es256: return (.es256, "EC", bits)
        }
    }

    private static func groupName(_ pkey: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &length) == 1
        else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func publicKeyFingerprint(
        _ pkey: OpaquePointer, fail: (SigningKeyError.Code, String) -> SigningKeyError
    ) throws(SigningKeyError) -> String {
        let length = i2d_PUBKEY(pkey, nil)
        guard length > 0 else {
            throw fail(.malformed, "its public key cannot be encoded (OpenSSL: \(OpenSSLErrorQueue.drain()))")
        }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer in
            // i2d_* advance the pointer they are given, so hand them a copy.
            var cursor = buffer.baseAddress
            return i2d_PUBKEY(pkey, &cursor)
        }
        guard written == length else {
            throw fail(.malformed, "its public key cannot be encoded (OpenSSL: \(OpenSSLErrorQueue.drain()))")
        }
        return SHA256Digest.hex(of: Data(der))
    }

    // MARK: - Reading the file

    private static func readFile(_ path: String, label: String) throws(SigningKeyError) -> [UInt8] {
        func unreadable(_ why: String) -> SigningKeyError {
            SigningKeyError(.unreadable, "cannot read \(label): \(why)", path: path)
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(describe(errno: errno)) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw unreadable(describe(errno: errno)) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw unreadable("it is not a regular file") }
        guard info.st_size <= maximumFileSize else {
            throw unreadable("it is \(info.st_size) bytes, far too large for a PEM private key; check the path")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + total, buffer.count - total)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let why = describe(errno: errno)
                OPENSSL_cleanse(&bytes, bytes.count)
                throw unreadable(why)
            }
            if count == 0 { break }
            total += count
        }
        if total < bytes.count {
            // The file shrank while we read it; keep what arrived and wipe the rest of the buffer.
            let prefix = Array(bytes.prefix(total))
            OPENSSL_cleanse(&bytes, bytes.count)
            return prefix
        }
        return bytes
    }

    private static func describe(errno code: Int32) -> String {
        switch code {
        case ENOENT: "no such file; check the path"
        case EACCES: "permission denied; make the file readable by this user (and only by this user)"
        case EISDIR: "it is a directory"
        default: String(cString: strerror(code))
        }
    }
}
