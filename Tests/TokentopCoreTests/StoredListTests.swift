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

/// Loading a large SQLite file with two readers at once reads every connection once, as one reader does.
struct TwoReadersTests {
    @Test func twoReadersReadWhatOneReads() throws {
        let directory = try StoreTemporaryDirectory(.sqlite)
        let connections = (0..<301).map { index in
            var entry = StoreFixtures.connection(String(format: "acme-%04d", index))
            if index % 7 == 0 { entry.grantedScopes = ["read", "write", "ünïcödé \(index)"] }
            return entry
        }
        let store = try StoreFixtures.store(in: directory, connections: connections)
        try store.recordRefreshFailure(
            connectionID: "acme-0150", error: ProviderError(kind: .transient, error: "temporarily_unavailable"),
            retryAt: nil, reauthReason: nil, at: StoreFixtures.epoch)
        let file = try #require(store.database as? SQLiteDatabase)
        let halves = try #require(try store.locked { try store.connectionsByTwoReaders(file, count: 301) })
        let one = try store.connections()
        #expect(halves.count == 301)
        #expect(halves.sorted { $0.id < $1.id } == one.sorted { $0.id < $1.id })
        #expect(halves.first { $0.id == "acme-0150" }?.lastError?.error == "temporarily_unavailable")
    }
}
