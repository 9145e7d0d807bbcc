import Foundation
import Testing

@testable import TokentopCore

@Suite struct SecretBoxTests {
    static let context = "connections/acme-alice/access_token"
    static let secret = Secret("fake-access-token-0001")

    @Test func sealedValuesOpenWithTheSameKeyAndContext() throws {
        let box = SecretBox(key: [UInt8](repeating: 1, count: 32))
        let sealed = try box.seal(Self.secret, context: Self.context)
        #expect(try box.open(sealed, context: Self.context) == Self.secret)
        #expect(try SecretBox(key: [UInt8](repeating: 1, count: 32)).open(sealed, context: Self.context) == Self.secret)
        let unicode = Secret("fake-😀-token-ü")
        #expect(try box.open(try box.seal(unicode, context: "x"), context: "x") == unicode)
    }

    @Test func theStoredFormIsVersionNonceCiphertextAndTag() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal(Self.secret, context: Self.context)
        #expect(sealed.count == 1 + 12 + Self.secret.value.utf8.count + 16)
        #expect(sealed.first == 1)
        #expect(sealed.firstRange(of: Array(Self.secret.value.utf8)) == nil)
    }

    @Test func everySealUsesAFreshNonce() throws {
        let box = SecretBox.ephemeral()
        let first = try box.seal(Self.secret, context: Self.context)
        let second = try box.seal(Self.secret, context: Self.context)
        #expect(first != second)
        #expect(first[1..<13] != second[1..<13])
    }

    @Test func aWrongKeyFailsWithOneClearError() throws {
        let sealed = try SecretBox(key: [UInt8](repeating: 1, count: 32)).seal(Self.secret, context: Self.context)
        let error = try #require(throws: StoreError.self) {
            try SecretBox(key: [UInt8](repeating: 2, count: 32)).open(sealed, context: Self.context)
        }
        #expect(error.code == .cannotDecrypt)
        #expect(
            error.message == """
                cannot decrypt connections/acme-alice/access_token: wrong TOKENTOP_KEY or key file? This tokentop uses \
                a given key; use the key the database was created with; nothing was changed
                """)
    }

    @Test(arguments: [0, 1, 5, 13, 20, 35, 50])
    func anyAlteredByteIsDetected(_ index: Int) throws {
        let box = SecretBox.ephemeral()
        var sealed = try box.seal(Self.secret, context: Self.context)
        #expect(sealed.count == 51)
        sealed[index] ^= 0x01
        let error = try #require(throws: StoreError.self) { try box.open(sealed, context: Self.context) }
        #expect(error.code == .cannotDecrypt)
    }

    @Test func aTruncatedValueIsDetected() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal(Self.secret, context: Self.context)
        let error = try #require(throws: StoreError.self) {
            try box.open(Array(sealed.prefix(20)), context: Self.context)
        }
        #expect(error.message.contains("it is too short"))
    }

    @Test func aValueMovedToAnotherPlaceDoesNotOpen() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal(Self.secret, context: "connections/acme-alice/access_token")
        for other in ["connections/acme-bob/access_token", "connections/acme-alice/refresh_token", ""] {
            let error = try #require(throws: StoreError.self) { try box.open(sealed, context: other) }
            #expect(error.code == .cannotDecrypt)
        }
    }

    // MARK: - Keys

    @Test func theKeyFileIsCreatedPrivateAndReused() throws {
        let directory = try StoreTemporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.file("config"), "HOME": directory.path]
        let first = try SecretBox.load(environment: environment)
        let path = directory.file("config/tokentop/key")
        #expect(SecretBox.keyFilePath(environment: environment) == path)
        #expect(first.keySource == "key file \(path)")
        #expect(StoreFixtures.mode(path) == 0o600)
        #expect(StoreFixtures.mode(directory.file("config/tokentop")) == 0o700)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(Data(base64Encoded: text.trimmingCharacters(in: .newlines))?.count == 32)
        let sealed = try first.seal(Self.secret, context: Self.context)
        #expect(try SecretBox.load(environment: environment).open(sealed, context: Self.context) == Self.secret)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.file("config/tokentop"))
        #expect(leftovers == ["key"])
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660])
    func aKeyFileOthersCanReadIsRefused(_ mode: Int) throws {
        let directory = try StoreTemporaryDirectory()
        let environment = ["XDG_CONFIG_HOME": directory.path]
        _ = try SecretBox.load(environment: environment)
        let path = directory.file("tokentop/key")
        #expect(chmod(path, mode_t(mode)) == 0)
        let error = try #require(throws: StoreError.self) { try SecretBox.load(environment: environment) }
        #expect(error.code == .badKey)
        #expect(error.path == path)
        #expect(
            error.message == """
                the key file \(path) can be read by other users (mode 0\(String(mode, radix: 8))); run \
                `chmod 600 \(path)` and check who could have read it
                """)
    }

    @Test func aMalformedKeyFileIsRefused() throws {
        let directory = try StoreTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.file("tokentop"), withIntermediateDirectories: true)
        let path = directory.file("tokentop/key")
        #expect(
            FileManager.default.createFile(
                atPath: path, contents: Data("c2hvcnQ=\n".utf8), attributes: [.posixPermissions: 0o600]))
        let error = try #require(throws: StoreError.self) {
            try SecretBox.load(environment: ["XDG_CONFIG_HOME": directory.path])
        }
        #expect(error.code == .badKey)
        #expect(error.message.hasPrefix("the key file \(path) is not the base64 of 32 bytes"))
    }

    @Test func theEnvironmentKeyWinsOverTheKeyFile() throws {
        let directory = try StoreTemporaryDirectory()
        let key = [UInt8](repeating: 3, count: 32)
        let environment = ["TOKENTOP_KEY": Data(key).base64EncodedString(), "XDG_CONFIG_HOME": directory.path]
        let box = try SecretBox.load(environment: environment)
        #expect(box.keySource == "TOKENTOP_KEY")
        let sealed = try SecretBox(key: key).seal(Self.secret, context: Self.context)
        #expect(try box.open(sealed, context: Self.context) == Self.secret)
        #expect(!FileManager.default.fileExists(atPath: directory.file("tokentop/key")))
    }

    @Test(arguments: ["not base64!", "c2hvcnQ=", Data(repeating: 1, count: 33).base64EncodedString()])
    func aMalformedEnvironmentKeyIsRefusedWithoutEchoingIt(_ value: String) throws {
        let error = try #require(throws: StoreError.self) {
            try SecretBox.load(environment: ["TOKENTOP_KEY": value, "XDG_CONFIG_HOME": "/nonexistent"])
        }
        #expect(error.code == .badKey)
        #expect(error.message.hasPrefix("TOKENTOP_KEY is not the base64 of 32 bytes"))
        #expect(!error.message.contains(value))
    }
}
