import Foundation
import Testing

@testable import TokentopCore

/// The claims of an OpenID Connect ID token, and when they say someone else signed in.
struct SignedInUserTests {
    static func token(_ claims: String) -> String {
        let payload = Data(claims.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "eyJhbGciOiJSUzI1NiJ9.\(payload).fake-signature"
    }

    @Test func theClaimsAreReadFromTheMiddlePart() {
        let user = SignedInUser.read(idToken: Self.token(#"{"sub":"110169484474386276334","email":"a@x.example"}"#))
        #expect(user == SignedInUser(subject: "110169484474386276334", email: "a@x.example", username: nil))
        let microsoft = SignedInUser.read(idToken: Self.token(#"{"oid":"o-1","upn":"kim@contoso.example"}"#))
        #expect(microsoft?.username == "kim@contoso.example")
        // base64url with characters that plain base64 spells + and /.
        let odd = SignedInUser.read(idToken: Self.token(#"{"email":"??>>@x.example"}"#))
        #expect(odd?.email == "??>>@x.example")
    }

    @Test(arguments: ["", "not-a-jwt", "a.b", "a.!!!.c", Self.token("[1,2]"), Self.token(#"{"aud":"x"}"#)])
    func anythingElseIsNoUser(idToken: String) {
        #expect(SignedInUser.read(idToken: idToken) == nil)
    }

    @Test func onlyAnEmailAddressThatIsNotTheSubjectContradictsIt() {
        let bob = SignedInUser(subject: "u-2", email: "bob@example.com", username: nil)
        #expect(bob.contradiction(with: "alice@example.com") == "bob@example.com")
        #expect(bob.contradiction(with: "BOB@example.com") == nil)
        // A subject that is no e-mail address, or claims that name none, cannot be compared: no refusal.
        #expect(bob.contradiction(with: "alice") == nil)
        #expect(SignedInUser(subject: "u-2", email: nil, username: "bob").contradiction(with: "alice@example.com") == nil)
        let both = SignedInUser(subject: nil, email: "bob@example.com", username: "alice@example.com")
        #expect(both.contradiction(with: "alice@example.com") == nil)
    }
}
