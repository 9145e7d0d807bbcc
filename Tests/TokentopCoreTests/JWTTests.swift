import Foundation
import Testing

@testable import TokentopCore

struct JWTTests {
    @Test func base64URLMatchesRFC7515() {
        // RFC 7515 Appendix A.1: the JOSE header, with its CR LF, and its encoding.
        let header = Array("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}".utf8)
        #expect(JWT.base64URL(header) == "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9")
        #expect(JWT.base64URLDecode("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9") == header)
    }

    @Test(arguments: [
        ([UInt8](), ""), ([0x66], "Zg"), ([0x66, 0x6f], "Zm8"), ([0x66, 0x6f, 0x6f], "Zm9v"),
        ([0xfb, 0xff], "-_8"), ([0xfb, 0xef, 0xbe], "----"), ([0xff, 0xff, 0xff], "____"),
    ])
    func base64URLHasNoPaddingAndUrlSafeAlphabet(bytes: [UInt8], text: String) {
        #expect(JWT.base64URL(bytes) == text)
        #expect(JWT.base64URLDecode(text) == bytes)
    }

    @Test(arguments: ["Zg==", "a+b/", "Z", "ab cd"])
    func base64URLDecodeRefusesOtherText(text: String) {
        #expect(JWT.base64URLDecode(text) == nil)
    }

    @Test func claimsAreWrittenInOrderAndEscaped() {
        let json = JWT.json([
            ("iss", .string("svc@example.iam.gserviceaccount.com")), ("odd", .string("a\"b\\c\nd\u{1}é/")),
            ("iat", .integer(1_800_000_000)), ("aud", .strings(["one", "two"])), ("neg", .integer(-5)),
        ])
        #expect(
            json
                == #"{"iss":"svc@example.iam.gserviceaccount.com","odd":"a\"b\\c\nd\u0001é/","iat":1800000000,"#
                + #""aud":["one","two"],"neg":-5}"#)
        let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["odd"] as? String == "a\"b\\c\nd\u{1}é/")
    }

    @Test func numericDateRoundsDown() {
        #expect(JWT.numericDate(Date(timeIntervalSince1970: 1_800_000_000.999)) == 1_800_000_000)
        #expect(JWT.numericDate(Date(timeIntervalSince1970: 0)) == 0)
    }

    @Test(arguments: [(TestKey.Kind.rsa2048, "RS256", 256), (.p256, "ES256", 64)])
    func compactJWSHasHeaderPayloadAndAVerifiableSignature(kind: TestKey.Kind, alg: String, length: Int) throws {
        let generated = TestKey.shared(kind)
        let key = try SigningKey(pem: generated.privatePEM(.pkcs8))
        let claims: JWT.Members = [("iss", .string("12345")), ("iat", .integer(1_800_000_000))]
        let token = try JWT.sign(claims: claims, key: key, keyID: "fake-key-id-0001")

        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let header = try #require(JWT.base64URLDecode(parts[0]))
        let payload = try #require(JWT.base64URLDecode(parts[1]))
        let signature = try #require(JWT.base64URLDecode(parts[2]))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"\#(alg)","typ":"JWT","kid":"fake-key-id-0001"}"#)
        #expect(String(decoding: payload, as: UTF8.self) == #"{"iss":"12345","iat":1800000000}"#)
        #expect(signature.count == length)
        #expect(generated.verify(jwsSignature: signature, message: Array("\(parts[0]).\(parts[1])".utf8)))
        #expect(!token.contains("="))
    }

    @Test func headerHasNoKeyIDUnlessGiven() throws {
        let key = try SigningKey(pem: TestKey.shared(.rsa2048).privatePEM(.traditional))
        let token = try JWT.sign(claims: [("iss", .string("x"))], key: key)
        let header = try #require(JWT.base64URLDecode(String(token.prefix { $0 != "." })))
        #expect(String(decoding: header, as: UTF8.self) == #"{"alg":"RS256","typ":"JWT"}"#)
    }
}

/// A compact JWS taken apart, for the tests of the grants that send one.
struct DecodedJWT {
    var header: [String: Any]
    var claims: [String: Any]
    /// The claims' raw JSON, to check their order.
    var payloadText: String
    var signingInput: [UInt8]
    var signature: [UInt8]

    init(_ token: String) throws {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        try #require(parts.count == 3)
        let header = try #require(JWT.base64URLDecode(parts[0]))
        let payload = try #require(JWT.base64URLDecode(parts[1]))
        self.header = try #require(try JSONSerialization.jsonObject(with: Data(header)) as? [String: Any])
        claims = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
        payloadText = String(decoding: payload, as: UTF8.self)
        signingInput = Array("\(parts[0]).\(parts[1])".utf8)
        signature = try #require(JWT.base64URLDecode(parts[2]))
    }

    func int(_ claim: String) -> Int? { (claims[claim] as? NSNumber)?.intValue }
}
