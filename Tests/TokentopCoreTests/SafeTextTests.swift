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

    /// The control characters are matched by number, not by looking their category up: the same set, for every
    /// scalar Unicode has.
    @Test func theControlCharactersAreExactlyUnicodesCc() {
        let marks: Set<UInt32> = [0x061C, 0x200B, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF]
        var differing: [UInt32] = []
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = scalar.properties.generalCategory == .control || marks.contains(value)
                || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
            if SafeText.isUnsafe(scalar) != expected { differing.append(value) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(10))")
    }
}
