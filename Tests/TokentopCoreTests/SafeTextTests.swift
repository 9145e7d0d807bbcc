import Testing

@testable import TokentopCore

/// How a name a user gave is echoed in a one-line message.
struct SafeTextTests {
    @Test(arguments: [
        ("acme-alice", "acme-alice"),
        ("", #""""#),
        ("bad\nid\u{1B}[2J", #""bad\nid\u001b[2J""#),
        (String(repeating: "a", count: 80), String(repeating: "a", count: 80)),
    ])
    func aShortNameIsShownWhole(given: String, shown: String) {
        #expect(SafeText.name(given) == shown)
    }

    /// A 100,000-character id is cut to 79 characters and `…`, escaped as a short one is, so the message stays short.
    @Test func aLongNameIsCut() {
        let long = String(repeating: "a", count: 100_000)
        #expect(SafeText.name(long) == String(repeating: "a", count: 79) + "…")
        #expect(SafeText.name(String(repeating: "é", count: 81)) == String(repeating: "é", count: 79) + "…")
        let unsafe = "\n" + String(repeating: "b", count: 100)
        #expect(SafeText.name(unsafe) == #""\n"# + String(repeating: "b", count: 78) + #"""# + "…")
    }
}
