import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

@Suite struct SearchIndexTests {
    static func index(subject: String) -> SearchIndex {
        var connection = Fixtures.connections[0]
        connection.subject = subject
        return SearchIndex(snapshot: Fixtures.snapshot(connections: [connection]))
    }

    @Test(
        arguments: [
            ("zoë@example.com", "ZOË", true),
            ("zoe\u{0308}@example.com", "zoë", true),
            ("zoë@example.com", "zoe\u{0308}", true),
            ("Ålesund-ops", "åLE", true),
            ("carol@example.com", "GITHUB", true),
            ("carol@example.com", "github-oauth", true),
            ("carol@example.com", "gh-alice", true),
            ("carol@example.com", "dave", false),
            ("carol@example.com", "", true),
        ] as [(String, String, Bool)])
    func matchesAnyFieldIgnoringCaseAndComposition(subject: String, filter: String, expected: Bool) {
        let needle = Array(SearchIndex.fold(filter).utf8)
        #expect(Self.index(subject: subject).matches(0, needle: needle) == expected)
    }

    @Test func aMatchNeverSpansTwoFields() {
        // The id ends in "alice" and the subject starts with "carol": "alicecarol" is in neither.
        #expect(!Self.index(subject: "carol@example.com").matches(0, needle: Array("alicecarol".utf8)))
    }
}
