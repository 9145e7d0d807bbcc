import Foundation
import Testing

@testable import TokentopCore

@Suite struct PKCETests {
    @Test func challengeMatchesRFC7636AppendixB() {
        #expect(
            PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    }

    @Test func verifiersAre64UnreservedCharactersAndNeverRepeat() throws {
        var seen: Set<String> = []
        for _ in 0..<200 {
            let pkce = try PKCE.generate()
            let verifier = pkce.verifier.value
            #expect(verifier.count == 64)
            #expect(verifier.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-._~".contains($0)) })
            #expect(pkce.challenge == PKCE.challenge(for: verifier))
            #expect(pkce.challenge.count == 43)
            seen.insert(verifier)
        }
        #expect(seen.count == 200)
    }

    @Test func stateCarries256RandomBits() throws {
        let states = try (0..<100).map { _ in try RandomToken.make(bytes: 32) }
        #expect(Set(states).count == 100)
        #expect(states.allSatisfy { $0.count == 43 })
    }
}
