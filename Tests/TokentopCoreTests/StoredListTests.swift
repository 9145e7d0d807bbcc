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
