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

    /// Many connections whose fields share prefixes, some not ASCII.
    static func fleet(_ count: Int) -> DashboardSnapshot {
        let names = ["alice", "Ålesund", "bob", "zoë", "ZOE", "carol", "dave", "Élodie"]
        let connections = (0..<count).map { index in
            var connection = Fixtures.connections[index % Fixtures.connections.count]
            connection.id = "t\(index % 40)-\(names[index % names.count].lowercased())-\(index)"
            connection.subject = "\(names[(index / 3) % names.count])\(index % 9)@Tenant\(index % 7).example.com"
            if index % 5 == 0 { connection.parentID = "p-\(names[index % 3])-\(index % 11)" }
            if index % 6 == 0 { connection.workspace = "Team \(names[(index / 6) % names.count])" }
            return connection
        }
        return Fixtures.snapshot(connections: connections)
    }

    /// What a filter should match, by the definition: any field contains it, compared folded.
    static func naive(_ snapshot: DashboardSnapshot, _ filter: String) -> [Int] {
        let needle = SearchIndex.fold(filter)
        guard !needle.isEmpty else { return Array(snapshot.connections.indices) }
        return snapshot.connections.indices.filter { index in
            let connection = snapshot.connections[index]
            let provider = snapshot.integrations[connection.integrationID]?.provider ?? ""
            let fields = [
                connection.id, connection.subject, connection.integrationID, provider,
                connection.workspaceName ?? "", connection.parentID ?? "",
            ]
            return fields.contains {
                SearchIndex.fold($0).contains(needle)
            }
        }
    }

    @Test func typingNarrowsToWhatAFullSearchFinds() {
        let snapshot = Self.fleet(3_000)
        var index = SearchIndex(snapshot: snapshot)
        // Typed one character at a time, with backspaces and a new word, as an operator would.
        let typed = [
            "t", "t1", "t1-", "t1-z", "t1-zo", "t1-zoë", "t1-zo", "t1", "", "å", "ål", "ÅLE", "ex", "example.com",
            "tenant3", "tenant3.", "@tenant3.example", "zzz", "z", "github", "github-o", "e\u{0301}lodie", "p-",
            "p-bob-1", "team", "team ål",
        ]
        for filter in typed {
            let found = index.search(filter)
            #expect(found == Self.naive(snapshot, filter), "filter \"\(filter)\"")
        }
    }

    @Test func aRefreshKeepsTheIndexAndAChangedSubjectRebuildsIt() {
        var snapshot = Self.fleet(600)
        var index = SearchIndex(snapshot: snapshot)
        _ = index.search("alice")
        snapshot.version += 1
        snapshot.connections[5].failures = 2
        snapshot.connections[5].lastRefreshAt = Fixtures.at(10)
        let rebuiltAfterRefresh = index.adopt(snapshot)
        #expect(!rebuiltAfterRefresh)
        let stillFound = index.search("alice")
        #expect(stillFound == Self.naive(snapshot, "alice"))
        snapshot.version += 1
        snapshot.connections[5].subject = "mallory@elsewhere.example"
        let rebuiltAfterEdit = index.adopt(snapshot)
        #expect(rebuiltAfterEdit)
        let found = index.search("mallory")
        #expect(found == [5])
        let foundAgain = index.search("alice")
        #expect(foundAgain == Self.naive(snapshot, "alice"))
        snapshot.version += 1
        snapshot.connections[7].parentID = "new-parent"
        let rebuiltAfterNewParent = index.adopt(snapshot)
        #expect(rebuiltAfterNewParent)
        let byParent = index.search("new-parent")
        #expect(byParent == [7])
    }
}
