import Foundation
import Testing

@testable import TokentopCore

/// The stored lists of scopes and members: the quick reader agrees with `JSONDecoder` on everything it reads, and
/// leaves everything else to it.
struct StoredListTests {
    @Test(arguments: [
        ["read", "write"], ["a"], [""], ["", ""], ["openid profile", "ünïcödé", "emoji 🔑", "a,b", "[x]"],
        ["with \"quote\"", "back\\slash", "tab\there", "line\nbreak", "bell\u{7}"],
    ])
    func readsWhatTheWriterWrote(list: [String]) throws {
        let text = Store.json(list)
        let decoded = try JSONDecoder().decode([String].self, from: Data(text.utf8))
        #expect(decoded == list)
        let quick = Store.plainList(text)
        let needsEscape = list.contains { $0.unicodeScalars.contains { $0 == "\"" || $0 == "\\" || $0.value < 0x20 } }
        // Lists whose strings need an escape are left to the decoder; the rest are read the same.
        #expect(quick == (needsEscape ? nil : list))
    }

    @Test(arguments: [
        "[", "]", "[]x", "[\"a\"", "[\"a\",]", "[,\"a\"]", "[\"a\" ,\"b\"]", "[ \"a\"]", "[\"a\"\"b\"]", "[1]",
        "[\"\\u0041\"]", "{\"a\":1}", "[\"a\",\"b\",]", "[\"unterminated]",
    ])
    func leavesAnythingElseToTheDecoder(text: String) {
        #expect(Store.plainList(text) == nil)
    }
}

/// Loading a large SQLite file with two readers at once reads every connection once, as one reader does, and puts
/// them in list order.
struct TwoReadersTests {
    @Test func twoReadersReadWhatOneReads() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let connections = (0..<301).map { index in
            var entry = StoreFixtures.connection(String(format: "acme-%04d", (index * 7_919) % 301))
            entry.scope = IdentityScope.allCases[index % 5]
            if index % 7 == 0 { entry.grantedScopes = ["read", "write", "ünïcödé \(index)"] }
            return entry
        }
        let store = try StoreFixtures.store(in: directory, connections: connections)
        try store.recordRefreshFailure(
            connectionID: "acme-0150", error: ProviderError(kind: .transient, error: "temporarily_unavailable"),
            retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
        let file = try #require(store.database as? SQLiteDatabase)
        // One row a hand edit damaged (a scope this tokentop does not know) is left out by both, and named once.
        try store.locked { try file.execute("UPDATE connections SET scope = 'galaxy' WHERE id = 'acme-0200'") }
        let (rows, order, unreadable) = try #require(
            try store.locked { try store.connectionsByTwoReaders(file, count: 301) })
        let one = try store.connections()
        #expect(rows.count == 300)
        #expect(rows.sorted { $0.id < $1.id } == one.sorted { $0.id < $1.id })
        #expect(rows.first { $0.id == "acme-0150" }?.lastError?.error == "temporarily_unavailable")
        #expect(order.map { rows[$0].id } == ListOrderTests.reference(rows).map(\.id))
        let listed = try store.connectionList()
        #expect(Array(ConnectionList(moving: rows, order: order)).map(\.id) == Array(listed.list).map(\.id))
        #expect(unreadable.map(\.id) == ["acme-0200"])
        #expect(listed.unreadable.map(\.id) == ["acme-0200"])
        #expect(listed.unreadable.first?.problem.contains("the scope of connection acme-0200 is \"galaxy\"") == true)
    }
}

extension TwoReadersTests {
    /// Row ids a hand edit put at both ends of the 64-bit range cannot be split into ranges: one reader reads them.
    @Test func rowIdsAtTheEndsOfTheRangeAreReadAlone() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let connections = (0..<40).map { StoreFixtures.connection(String(format: "acme-%04d", $0)) }
        let store = try StoreFixtures.store(in: directory, connections: connections)
        let file = try #require(store.database as? SQLiteDatabase)
        try store.locked {
            try file.execute("UPDATE connections SET rowid = ? WHERE id = ?", [Int.max, "acme-0003"])
            try file.execute("UPDATE connections SET rowid = ? WHERE id = ?", [Int.min, "acme-0007"])
        }
        #expect(try store.locked { try store.connectionsByTwoReaders(file, count: 40) } == nil)
        #expect(Array(try store.connectionList().list).map(\.id) == connections.map(\.id).sorted())
    }
}

/// List order: by scope, then by id as UTF-8 bytes (SQLite's BINARY collation), however the ids begin and end.
struct ListOrderTests {
    /// The order by plain comparison of scopes and byte arrays.
    static func reference(_ rows: [Connection]) -> [Connection] {
        rows.sorted { left, right in
            left.scope.ordinal != right.scope.ordinal
                ? left.scope.ordinal < right.scope.ordinal
                : Array(left.id.utf8).lexicographicallyPrecedes(Array(right.id.utf8))
        }
    }

    /// Ids that tie on their first 23 bytes, that are prefixes of one another, that hold a zero byte, bytes above
    /// 0x7f, or nothing at all.
    static let ids: [String] = {
        let long = "t111-salesforce-u031777-"
        var ids = [
            "", "a", "a\u{0}", "a\u{0}b", "ab", "A", "z", "é", "e\u{301}", "🔑", "Z🔑", long, long + "a",
            long + "b", long + "ab", String(long.dropLast()), String(long.dropLast(2)) + "8", long + "\u{0}",
            "t111-salesforce", "t111-salesforce-", "t111-salesforce-u0", "ünïcödé", "\u{7f}", "\u{80}",
        ]
        for index in 0..<60 { ids.append("t\(index % 7)-okta-u\(String(format: "%06d", index * 7_919 % 1_000))") }
        return ids
    }()

    static func rows(_ ids: [String], scopes: Bool) -> [Connection] {
        ids.enumerated().map { index, id in
            Connection(
                id: id, integrationID: "acme", scope: scopes ? IdentityScope.allCases[(index * 3) % 5] : .user,
                subject: "s", credential: .oauth2, grant: .refreshToken, createdAt: StoreFixtures.epoch)
        }
    }

    @Test(arguments: [false, true])
    func sortsAsBytesCompare(scopes: Bool) {
        let rows = Self.rows(Self.ids, scopes: scopes)
        let order = ListOrder(rows).positions
        #expect(order.map { rows[$0].id } == Self.reference(rows).map(\.id))
        #expect(Set(order).count == rows.count)
    }

    @Test(arguments: [0, 1, 17, 40])
    func mergesTwoSortedHalves(split: Int) {
        let rows = Self.rows(Self.ids.shuffled(), scopes: true)
        let (lower, upper) = (Array(rows[..<split]), Array(rows[split...]))
        let merged = ListOrder.merged(ListOrder(lower), ListOrder(upper), offset: lower.count)
        #expect(merged?.map { rows[$0].id } == Self.reference(rows).map(\.id))
    }

    /// Two readers whose snapshots disagreed may both hold a connection that moved between their row ranges: the
    /// merge refuses such halves rather than list it twice.
    @Test func mergingHalvesThatShareAnIdRefuses() {
        let rows = Self.rows(Self.ids, scopes: true)
        let twice = [rows[30]]
        #expect(ListOrder.merged(ListOrder(rows), ListOrder(twice), offset: rows.count) == nil)
        #expect(ListOrder.merged(ListOrder(twice), ListOrder(rows), offset: 1) == nil)
        #expect(ListOrder.merged(ListOrder(Array(rows[..<30])), ListOrder(Array(rows[30...])), offset: 30) != nil)
    }
}
