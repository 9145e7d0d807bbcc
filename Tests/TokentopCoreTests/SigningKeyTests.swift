
import CCrypto
import Foundation
import Synchronization
import Testing
@testable import TokentopCore
import TokentopTestSupport

struct SigningKeyTests {
    // MARK: - Loading each PEM form

    @Test(arguments: [
        (TestKey.Kind.rsa2048, TestKey.Form.pkcs8, "PRIVATE KEY", SigningAlgorithm.rs256, "RSA", 2048),
        (.rsa2048, .traditional, "RSA PRIVATE KEY", .rs256, "RSA", 2048),
        (.p256, .pkcs8, "PRIVATE KEY", .es256, "EC", 256),
        (.p256, .traditional, "EC PRIVATE KEY", .es256, "EC", 256),
    ])
    func loadsEachForm(
        kind: TestKey.Kind, form: TestKey.Form, label: String, algorithm: SigningAlgorithm, type: String, bits: Int
    ) throws {
        let generated = TestKey.shared(kind)
        let pem = generated.privatePEM(form)
        #expect(pem.hasPrefix("-----BEGIN \(label)-----\n"))
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("key.pem").path
        try Data(pem.utf8).write(to: URL(fileURLWithPath: path))

        for key in [try SigningKey(contentsOfFile: path), try SigningKey(pem: pem, label: "test key")] {
            #expect(key.algorithm == algorithm)
            #expect(key.keyType == type)
            #expect(key.bits == bits)
            #expect(key.publicKeyFingerprint == generated.publicKeyFingerprint)
        }
        #expect(try SigningKey(contentsOfFile: path, algorithm: algorithm).algorithm == algorithm)
        #expect(try SigningKey(contentsOfFile: path).label == "private key file \(path)")
    }

    @Test func sec1KeyAfterECParametersBlockLoads() throws {
        // `openssl ecparam -genkey` writes the curve's OID as its own block before the key.
        let parameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
        let key = try SigningKey(pem: parameters + TestKey.shared(.p256).privatePEM(.traditional))
        #expect(key.algorithm == .es256)
    }

    @Test func crlfLineEndingsLoad() throws {
        let pem = TestKey.shared(.rsa2048).privatePEM(.traditional).replacingOccurrences(of: "\n", with: "\r\n")
        #expect(try SigningKey(pem: pem).algorithm == .rs256)
    }

    @Test func descriptionShowsTypeSizeAndFingerprintOnly() throws {
        let generated = TestKey.shared(.rsa2048)
        let pem = generated.privatePEM(.pkcs8)
        let key = try SigningKey(pem: pem)
        let prefix = String(generated.publicKeyFingerprint.prefix(16))
        #expect(key.description == "SigningKey(RS256, RSA 2048 bits, public key sha256:\(prefix))")
        #expect("\(key)" == key.description)
        #expect(String(reflecting: key) == key.description)
        for line in pem.split(separator: "\n") where !line.hasPrefix("-----") {
            #expect(!key.description.contains(line))
        }
    }

    @Test(.enabled(if: OpenSSLTool.path != nil, "needs the openssl command"))
    func fingerprintMatchesOpenSSLCommandLine() throws {
        let tool = try #require(OpenSSLTool.path)
        let generated = TestKey.shared(.p256)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let derPath = directory.appendingPathComponent("public.der").path
        try Data(generated.privatePEM(.traditional).utf8).write(to: URL(fileURLWithPath: keyPath))
        try OpenSSLTool.run(tool, ["pkey", "-in", keyPath, "-pubout", "-outform", "DER", "-out", derPath])
        let der = try Data(contentsOf: URL(fileURLWithPath: derPath))
        #expect(try SigningKey(contentsOfFile: keyPath).publicKeyFingerprint == SHA256Digest.hex(of: der))
    }

    // MARK: - Signing and verifying

    @Test(arguments: [(TestKey.Kind.rsa2048, 256), (.p256, 64)])
    func signaturesVerifyWithThePublicKey(kind: TestKey.Kind, length: Int) throws {
        let generated = TestKey.shared(kind)
        let key = try SigningKey(pem: generated.privatePEM(.pkcs8))
        let message = Array("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ0ZXN0In0".utf8)
        let signature = try key.sign(message)
        #expect(signature.count == length)
        #expect(generated.verify(jwsSignature: signature, message: message))
        #expect(!generated.verify(jwsSignature: signature, message: message + [0x2e]))
        #expect(
            !TestKey.shared(kind == .p256 ? .otherP256 : .rsa3072).verify(jwsSignature: signature, message: message))
    }

    @Test func es256SignaturesAreRandomisedAndAllVerify() throws {
        let generated = TestKey.shared(.p256)
        let key = try SigningKey(pem: generated.privatePEM(.traditional))
        let message = Array("header.payload".utf8)
        let signatures = try (0..<8).map { _ in try key.sign(message) }
        #expect(Set(signatures).count == 8)
        for signature in signatures { #expect(generated.verify(jwsSignature: signature, message: message)) }
    }

    @Test(.enabled(if: OpenSSLTool.path != nil, "needs the openssl command"))
    func rs256IsDeterministicAndMatchesOpenSSLCommandLine() throws {
        let tool = try #require(OpenSSLTool.path)
        let generated = TestKey.shared(.rsa2048)
        let key = try SigningKey(pem: generated.privatePEM(.traditional))
        let message = Array("header.payload".utf8)
        let signature = try key.sign(message)
        #expect(try key.sign(message) == signature)

        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = { (name: String) in directory.appendingPathComponent(name).path }
        try Data(generated.publicPEM.utf8).write(to: URL(fileURLWithPath: file("public.pem")))
        try Data(signature).write(to: URL(fileURLWithPath: file("signature.bin")))
        try Data(message).write(to: URL(fileURLWithPath: file("message.txt")))
        let output = try OpenSSLTool.run(
            tool,
            [
                "dgst", "-sha256", "-verify", file("public.pem"), "-signature", file("signature.bin"),
                file("message.txt"),
            ])
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "Verified OK")
    }

    @Test func ecdsaSignatureFormsRoundTrip() throws {
        // r with its top bit set needs a leading zero in DER; s with leading zeros loses them.
        let r = [UInt8](repeating: 0xab, count: 32)
        let s = [0x00, 0x00] + [UInt8](repeating: 0x11, count: 30)
        let der = try #require(ECDSASignature.der(fromRaw: r + s))
        #expect(der == [0x30, 0x43, 0x02, 0x21, 0x00] + r + [0x02, 0x1e] + s.dropFirst(2))
        #expect(ECDSASignature.raw(fromDER: der, width: 32) == r + s)
        #expect(ECDSASignature.raw(fromDER: der + [0x00], width: 32) == nil)
        #expect(ECDSASignature.raw(fromDER: Array(der.dropLast()), width: 32) == nil)
        #expect(ECDSASignature.raw(fromDER: der, width: 16) == nil)
        #expect(ECDSASignature.raw(fromDER: [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01], width: 32) == nil)
    }

    // MARK: - Errors

    @Test func missingFileIsUnreadable() throws {
        let path = "/nonexistent-tokentop-test/key.pem"
        let error = try #require(throws: SigningKeyError.self) { try SigningKey(contentsOfFile: path) }
        #expect(error.code == .unreadable)
        #expect(error.path == path)
        #expect(error.message == "cannot read private key file \(path): no such file; check the path")
    }

    @Test func directoryIsUnreadable() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(throws: SigningKeyError.self) { try SigningKey(contentsOfFile: directory.path) }
        #expect(error.code == .unreadable)
        #expect(error.message == "cannot read private key file \(directory.path): it is not a regular file")
    }

    @Test(arguments: [
        ("hello, I am not a key\n", "there is no BEGIN PRIVATE KEY line"),
        ("", "it is empty"),
        (#"{"type": "service_account", "private_key_id": "fake"}"#, "it looks like JSON"),
    ])
    func textWithoutArmourIsNotPEM(text: String, hint: String) throws {
        let error = try loadError(text)
        #expect(error.code == .notPEM)
        #expect(error.message.hasPrefix("\(error.path!.keyFileLabel): not a PEM private key: "))
        #expect(error.message.contains(hint))
    }

    @Test(arguments: [TestKey.Form.encryptedPKCS8, .encryptedTraditional])
    func encryptedKeysAreRefused(form: TestKey.Form) throws {
        let pem = TestKey.shared(.rsa2048).privatePEM(form)
        #expect(pem.contains(form == .encryptedPKCS8 ? "BEGIN ENCRYPTED PRIVATE KEY" : "Proc-Type: 4,ENCRYPTED"))
        let error = try loadError(pem)
        #expect(error.code == .encrypted)
        let path = error.path!
        #expect(
            error.message
                == "\(path.keyFileLabel): the key is protected by a passphrase: encrypted keys are not supported; "
                + "decrypt it with openssl pkey -in \(path) -out plain.pem, and keep plain.pem private")
    }

    @Test(.enabled(if: OpenSSLTool.path != nil, "needs the openssl command"))
    func keyEncryptedByOpenSSLGenpkeyIsRefused() throws {
        let tool = try #require(OpenSSLTool.path)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("encrypted.pem").path
        try OpenSSLTool.run(
            tool,
            [
                "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:fake",
                "-out", path,
            ])
        let error = try #require(throws: SigningKeyError.self) { try SigningKey(contentsOfFile: path) }
        #expect(error.code == .encrypted)
        #expect(error.message.contains("encrypted keys are not supported; decrypt it with openssl pkey -in \(path)"))
    }

    @Test(arguments: [
        (
            TestKey.Kind.p256, SigningAlgorithm.rs256,
            "holds an EC key on the prime256v1 curve, but RS256 needs an RSA key of at least 2048 bits"
        ),
        (.rsa2048, .es256, "holds a 2048-bit RSA key, but ES256 needs an EC key on the P-256 curve (prime256v1)"),
        (
            .p384, .es256,
            "holds an EC key on the secp384r1 curve, but ES256 needs an EC key on the P-256 curve (prime256v1)"
        ),
        (
            .rsa1024, .rs256,
            "holds a 1024-bit RSA key, too short: RS256 needs at least 2048 bits; generate a new key "
                + "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) and register it with the provider"
        ),
    ])
    func wrongKeyTypeForTheAlgorithm(kind: TestKey.Kind, algorithm: SigningAlgorithm, why: String) throws {
        let error = try loadError(TestKey.shared(kind).privatePEM(.pkcs8), algorithm: algorithm)
        #expect(error.code == .wrongKeyType)
        #expect(error.message == "\(error.path!.keyFileLabel): \(why)")
    }

    @Test(arguments: [TestKey.Kind.rsa1024, .p384, .ed25519])
    func keysThatFitNoAlgorithmAreRefusedWithoutOne(kind: TestKey.Kind) throws {
        let error = try loadError(TestKey.shared(kind).privatePEM(.pkcs8))
        #expect(error.code == .wrongKeyType)
        if kind == .ed25519 {
            let why =
                "holds a key of type ED25519; tokentop signs with RS256 (an RSA key of at least 2048 bits) "
                + "or ES256 (an EC key on the P-256 curve (prime256v1))"
            #expect(error.message == "\(error.path!.keyFileLabel): \(why)")
        }
    }

    @Test func garbageInsideValidArmourIsMalformed() throws {
        let pem =
            "\(armor)BEGIN RSA PRIVATE KEY\(armor)\nZmFrZS1rZXktbWF0ZXJpYWwtMDAwMQ==\n\(armor)END RSA PRIVATE KEY\(armor)\n"
        let error = try loadError(pem)
        #expect(error.code == .malformed)
        let label = error.path!.keyFileLabel
        #expect(
            error.message.hasPrefix(
                "\(label): the \(armor)BEGIN RSA PRIVATE KEY\(armor) block holds no readable key (OpenSSL: "))
        #expect(error.message.hasSuffix("); download or export the key again"))
    }

    /// One base64 character changed inside the modulus: the PEM still decodes, but the key's parts no longer fit
    /// together, and everything it signed failed at the provider.
    @Test func aKeyWhosePartsDoNotFitIsMalformed() throws {
        var lines = TestKey.shared(.rsa2048).privatePEM(.traditional).split(separator: "\n").map(String.init)
        var line = Array(lines[3])
        line[10] = line[10] == "A" ? "B" : "A"
        lines[3] = String(line)
        let error = try loadError(lines.joined(separator: "\n") + "\n")
        #expect(error.code == .malformed)
        #expect(error.message.contains("the key's parts do not fit together (OpenSSL: "), "\(error.message)")
        #expect(error.message.hasSuffix("so nothing it signs could be verified; download or export the key again"))
    }

    @Test func keyCutShortIsMalformed() throws {
        let pem = TestKey.shared(.rsa2048).privatePEM(.pkcs8)
        let error = try loadError(String(pem.prefix(pem.count / 2)))
        #expect(error.code == .malformed)
        #expect(error.message.contains("has no -----END PRIVATE KEY----- line; the key was cut short, copy it again"))
    }

    @Test func publicKeyIsNotAPrivateKey() throws {
        let error = try loadError(TestKey.shared(.rsa2048).publicPEM)
        #expect(error.code == .notPrivateKey)
        #expect(
            error.message.hasPrefix("\(error.path!.keyFileLabel): holds -----BEGIN PUBLIC KEY----- but no private key"))
    }

    @Test func openSSHKeyIsNamed() throws {
        let pem =
            "\(armor)BEGIN OPENSSH PRIVATE KEY\(armor)\nb3BlbnNzaC1rZXktdjE=\n\(armor)END OPENSSH PRIVATE KEY\(armor)\n"
        let error = try loadError(pem)
        #expect(error.code == .notPrivateKey)
        #expect(
            error.message.contains("an OpenSSH private key, which tokentop cannot read; convert a copy with ssh-keygen")
        )
    }

    @Test func binaryDERIsNamed() throws {
        let der = [0x30, 0x82, 0x04, 0xa4, 0x02, 0x01, 0x00] + [UInt8](repeating: 0x5a, count: 32)
        let error = try loadError(bytes: der)
        #expect(error.code == .notPEM)
        #expect(error.message.contains("it looks like binary DER; convert it with openssl pkey -inform DER -in "))
    }

    @Test func twoKeysAreAmbiguous() throws {
        let pem = TestKey.shared(.rsa2048).privatePEM(.pkcs8) + TestKey.shared(.p256).privatePEM(.pkcs8)
        let error = try loadError(pem)
        #expect(error.code == .malformed)
        #expect(error.message.hasSuffix("holds 2 private keys; keep only the one registered with the provider"))
    }

    @Test func errorsFromTextNameTheLabel() throws {
        let error = try #require(throws: SigningKeyError.self) {
            try SigningKey(pem: "nothing", label: "the key of integration gh-app")
        }
        #expect(error.path == nil)
        #expect(error.message.hasPrefix("the key of integration gh-app: not a PEM private key"))
    }

    /// Writes `bytes`, or else `text`, to a fresh file and returns the error loading it throws; `path` is that file.
    private func loadError(
        _ text: String = "", bytes: [UInt8]? = nil, algorithm: SigningAlgorithm? = nil
    ) throws -> SigningKeyError {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("key.pem").path
        try Data(bytes ?? Array(text.utf8)).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SigningKeyError.self) {
            try SigningKey(contentsOfFile: path, algorithm: algorithm)
        }
        #expect(error.path == path)
        // No line of the key's body ever reaches a message.
        for line in text.split(separator: "\n") where line.count > 8 && !line.hasPrefix("-----") {
            #expect(!error.message.contains(line))
        }
        return error
    }
}

extension String {
    /// How a key file's errors name it.
    fileprivate var keyFileLabel: String { "private key file \(self)" }
}

// MARK: - Keys made at test time

/// A key pair generated with libcrypto when a test first needs it; no private key is ever committed.
final class TestKey: @unchecked Sendable {
    // @unchecked Sendable: the EVP_PKEY is generated in `init` and only read afterwards (PEM export, verify).

    enum Kind: Sendable, CaseIterable {
        case rsa2048, rsa3072, rsa1024, p256, otherP256, p384, ed25519
    }

    enum Form: Sendable {
        /// `BEGIN PRIVATE KEY`.
        case pkcs8
        /// PKCS#1 `BEGIN RSA PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`.
        case traditional
        /// `BEGIN ENCRYPTED PRIVATE KEY`, passphrase `fake`.
        case encryptedPKCS8
        /// PKCS#1 with `Proc-Type: 4,ENCRYPTED`, passphrase `fake`.
        case encryptedTraditional
    }

    private static let keys = Mutex<[Kind: TestKey]>([:])

    /// One key per kind for the whole test run, made on first use: RSA generation is slow.
    static func shared(_ kind: Kind) -> TestKey {
        keys.withLock { keys in
            if let key = keys[kind] { return key }
            let key = TestKey(kind)
            keys[kind] = key
            return key
        }
    }

    private let pkey: OpaquePointer

    private init(_ kind: Kind) {
        let (name, setup): (String, (OpaquePointer) -> Int32) =
            switch kind {
            case .rsa2048: ("RSA", { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) })
            case .rsa3072: ("RSA", { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 3072) })
            case .rsa1024: ("RSA", { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 1024) })
            case .p256, .otherP256: ("EC", { EVP_PKEY_CTX_set_group_name($0, "P-256") })
            case .p384: ("EC", { EVP_PKEY_CTX_set_group_name($0, "P-384") })
            case .ed25519: ("ED25519", { _ in 1 })
            }
        let context = EVP_PKEY_CTX_new_from_name(nil, name, nil)!
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        precondition(EVP_PKEY_keygen_init(context) == 1 && setup(context) == 1 && EVP_PKEY_generate(context, &key) == 1)
        pkey = key!
    }

    deinit { EVP_PKEY_free(pkey) }

    func privatePEM(_ form: Form) -> String {
        var passphrase = Array("fake".utf8)
        return Self.write { bio in
            switch form {
            case .pkcs8: PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil)
            case .traditional: PEM_write_bio_PrivateKey_traditional(bio, pkey, nil, nil, 0, nil, nil)
            case .encryptedPKCS8:
                PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(), "fake", 4, nil, nil)
            case .encryptedTraditional:
                PEM_write_bio_PrivateKey_traditional(
                    bio, pkey, EVP_aes_256_cbc(), &passphrase, Int32(passphrase.count), nil, nil)
            }
        }
    }

    var publicPEM: String { Self.write { PEM_write_bio_PUBKEY($0, pkey) } }

    /// SHA-256 of the DER inside the public key's PEM armour, decoded here rather than by the code under test.
    var publicKeyFingerprint: String {
        let body = publicPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return SHA256Digest.hex(of: Data(base64Encoded: body)!)
    }

    /// Verifies a JWS signature (raw `r || s` for EC) over `message` with the public key read back from PEM.
    func verify(jwsSignature: [UInt8], message: [UInt8]) -> Bool {
        let publicKey = Array(publicPEM.utf8).withUnsafeBytes { raw -> OpaquePointer? in
            let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count))
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let publicKey, let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            EVP_PKEY_free(publicKey)
        }
        let signature = EVP_PKEY_is_a(publicKey, "EC") == 1 ? Self.derSignature(jwsSignature) : jwsSignature
        guard EVP_DigestVerifyInit_ex(context, nil, "SHA256", nil, nil, publicKey, nil) == 1 else { return false }
        let verified = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        ERR_clear_error()
        return verified
    }

    /// The DER ECDSA-Sig-Value of a raw `r || s`, written independently of the code under test.
    private static func derSignature(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var digits = Array(bytes.drop { $0 == 0 })
            if digits.first.map({ $0 >= 0x80 }) ?? true { digits.insert(0, at: 0) }
            return [0x02, UInt8(digits.count)] + digits
        }
        let body = integer(raw.prefix(raw.count / 2)) + integer(raw.suffix(raw.count / 2))
        return [0x30, UInt8(body.count)] + body
    }

    private static func write(_ body: (OpaquePointer) -> Int32) -> String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(body(bio) == 1, "writing a test key as PEM failed")
        var bytes = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
        precondition(BIO_read(bio, &bytes, Int32(bytes.count)) == Int32(bytes.count))
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The `openssl` command, for cross-checks against an implementation that is not ours.
enum OpenSSLTool {
    static let path: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { "\($0)/openssl" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs the command and returns its standard output; throws when it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OpenSSLToolError(arguments: arguments, status: process.terminationStatus, stderr: errorText)
        }
        return text
    }
}

struct OpenSSLToolError: Error, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stderr: String
    var description: String { "openssl \(arguments.joined(separator: " ")) exited \(status): \(stderr)" }
}

/// The dashes of PEM armour, kept apart so that no line of this file looks like a committed key.
private let armor = String(repeating: "-", count: 5)
