import Foundation
import Testing

@testable import TokentopCore

struct JSONValueTests {
    private func parse(_ text: String, _ rule: JSONValue.DuplicateKeys = .refused) throws(JSONSyntaxError)
        -> JSONValue
    {
        try JSONValue.parse(Data(text.utf8), duplicateKeys: rule)
    }

    /// A file a person writes may repeat no name, at any depth; the error says which, and where.
    @Test(arguments: [
        (#"{"a":1,"a":2}"#, 1, 8),
        (#"{"a":{"b":1,"b":2}}"#, 1, 13),
        ("[{\"a\":1},\n {\"c\":1, \"c\":2}]", 2, 10),
    ])
    func aRepeatedNameIsRefusedByDefault(text: String, line: Int, column: Int) {
        #expect(throws: JSONSyntaxError.self) { try parse(text) }
        do {
            _ = try parse(text)
        } catch {
            #expect(error.line == line)
            #expect(error.column == column)
            #expect(error.duplicateKey != nil)
            #expect(error.problem.hasSuffix("appears twice in one object"))
        }
    }

    @Test func aRepeatedNameInTheTopLevelObjectIsRefusedUnderEitherRule() {
        do {
            _ = try parse(#"{"access_token":"x","nested":{"a":1},"access_token":"y"}"#, .refusedAtTopLevel)
            Issue.record("expected an error")
        } catch {
            #expect(error.duplicateKey == "access_token")
            #expect(error.problem == #"the key "access_token" appears twice in one object"#)
        }
    }

    /// Below the top level the last value stays, in the first one's place, as JSONSerialization and most readers do.
    @Test func aRepeatedNameBelowTheTopLevelKeepsTheLastValue() throws {
        let value = try parse(#"{"o":{"b":1,"a":2,"b":3},"l":[{"c":1,"c":2}]}"#, .refusedAtTopLevel)
        guard case .object(let root) = value, case .object(let inner)? = root["o"] else {
            Issue.record("expected an object")
            return
        }
        #expect(inner.keys == ["b", "a"])
        guard case .number(let b)? = inner["b"] else { Issue.record("expected a number"); return }
        #expect(b == 3)
        #expect(value.sortedText == #"{"l":[{"c":2}],"o":{"a":2,"b":3}}"#)
    }

    /// A syntax error that is no repeated name carries none.
    @Test func otherErrorsNameNoKey() {
        do {
            _ = try parse(#"{"a":1,}"#, .refusedAtTopLevel)
            Issue.record("expected an error")
        } catch {
            #expect(error.duplicateKey == nil)
        }
    }

    @Test(arguments: [
        (#"{"z":1,"a":[true,false,null],"m":"x"}"#, #"{"a":[true,false,null],"m":"x","z":1}"#),
        (#"[3600, 3600.0, -0, 59.5, 1e30, 1E-7, 9007199254740992]"#, "[3600,3600,0,59.5,1e+30,1e-07,9007199254740992]"),
        (#""a/b\"c\\d\n\t\u0001é""#, #""a/b\"c\\d\n\t\u0001é""#),
        (#"{}"#, "{}"),
        (#"[]"#, "[]"),
    ])
    func sortedTextIsCompactJSONWithSortedNames(text: String, expected: String) throws {
        let value = try parse(text)
        #expect(value.sortedText == expected)
        // What it writes reads back as the same text.
        #expect(try parse(value.sortedText).sortedText == expected)
    }

    @Test(arguments: [
        (3600.0, "3600"), (-12, "-12"), (0, "0"), (-0.0, "0"), (59.5, "59.5"), (1e30, "1e+30"),
        (9_007_199_254_740_992, "9007199254740992"), (1e16, "1e+16"), (0.1, "0.1"),
    ])
    func numberText(number: Double, expected: String) {
        #expect(JSONValue.numberText(number) == expected)
    }
}
