/// Reading a large document a piece at a time (an object member by member, an array element by element), so that a
/// whole-store export is checked and restored without its whole tree in memory at once. The syntax is held to the
/// same rules, with the same messages, as ``JSONParser/parseValue()`` holds it.
extension JSONParser {
    /// Reads the object that starts here, handing each member's name to `member`, which must read the member's
    /// value with this parser; a name repeated in the object is refused before `member` sees it.
    /// - Throws: ``JSONSyntaxError`` where the text stops being JSON, and what `member` throws.
    mutating func forEachMember(_ member: (inout JSONParser, String) throws -> Void) throws {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw fail("expected an object") }
        try enter()
        defer { depth -= 1 }
        offset += 1
        var names = Set<String>()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            offset += 1
            return
        }
        while true {
            let (key, keyOffset) = try parseKey(first: names.isEmpty)
            guard names.insert(key).inserted else {
                var error = fail("the key \(ImportError.quoted(key)) appears twice in one object", at: keyOffset)
                error.duplicateKey = key
                throw error
            }
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return
            default: throw fail("expected ',' or '}' after the value of \(ImportError.quoted(key))")
            }
        }
    }

    /// Reads the array that starts here, handing each element's position to `element`, which must read the element
    /// with this parser.
    /// - Throws: ``JSONSyntaxError`` where the text stops being JSON, and what `element` throws.
    mutating func forEachElement(_ element: (inout JSONParser, Int) throws -> Void) throws {
        skipWhitespace()
        guard peek() == UInt8(ascii: "[") else { throw fail("expected an array") }
        try enter()
        defer { depth -= 1 }
        offset += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            offset += 1
            return
        }
        var index = 0
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { throw fail("expected a value after ',' (JSON allows no trailing comma)") }
            try element(&self, index)
            index += 1
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    /// Reads the value that starts here, checking it as ``parseValue()`` does, without keeping it.
    mutating func skipValue() throws {
        skipWhitespace()
        switch peek() {
        case UInt8(ascii: "{"): try forEachMember { parser, _ in try parser.skipValue() }
        case UInt8(ascii: "["): try forEachElement { parser, _ in try parser.skipValue() }
        default: _ = try parseValue()
        }
    }

    /// Moves past the array or object that starts here by matching its brackets outside strings, without checking
    /// what lies between them: for a large value that is read again, and checked, piece by piece later (an export's
    /// table). Where the brackets never close, the value is read as ``skipValue()`` reads it, to say where and why.
    mutating func skipBrackets() throws {
        let start = offset
        var open = 0
        var index = offset
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"): open += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                open -= 1
                if open == 0 {
                    offset = index + 1
                    return
                }
            default: break
            }
            index += 1
        }
        offset = start
        try skipValue()
    }

    /// Refuses anything but whitespace after the document's value.
    mutating func finish() throws(JSONSyntaxError) {
        skipWhitespace()
        guard offset == bytes.count else { throw fail("unexpected text after the end of the JSON value") }
    }
}
