/// Where and why a text is not JSON. It never quotes the text, which may hold a secret.
struct JSONSyntaxError: Error, Equatable {
    var line: Int
    var column: Int
    var problem: String
    /// The name, when the problem is an object that has it twice; the message quotes it clipped and cleaned.
    var duplicateKey: String?
}

/// A recursive-descent parser over UTF-8 bytes.
struct JSONParser {
    let bytes: [UInt8]
    let duplicateKeys: JSONValue.DuplicateKeys
    var offset = 0
    var depth = 0
    static let maximumDepth = 64

    init(bytes: [UInt8], duplicateKeys: JSONValue.DuplicateKeys = .refused) {
        self.bytes = bytes
        self.duplicateKeys = duplicateKeys
        // A UTF-8 byte order mark is not JSON, but editors on some systems write one.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
    }

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        let value = try parseValue()
        skipWhitespace()
        guard offset == bytes.count else { throw fail("unexpected text after the end of the JSON value") }
        return value
    }

    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        skipWhitespace()
        guard let byte = peek() else { throw fail("the file ends where a value was expected") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw fail("expected a value: a string in double quotes, a number, true, false, null, [ or {")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        offset += 1
        var object = JSONObject()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            offset += 1
            return .object(object)
        }
        while true {
            let (key, keyOffset) = try parseKey(first: object.keys.isEmpty)
            let value = try parseValue()
            if !object.insert(key, value) {
                // The top-level object is entered at depth 1.
                guard duplicateKeys == .refusedAtTopLevel, depth > 1 else {
                    var error = fail("the key \(ImportError.quoted(key)) appears twice in one object", at: keyOffset)
                    error.duplicateKey = key
                    throw error
                }
                object.update(key, value)
            }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "}"):
                offset += 1
                return .object(object)
            default: throw fail("expected ',' or '}' after the value of \(ImportError.quoted(key))")
            }
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        offset += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { throw fail("expected a value after ',' (JSON allows no trailing comma)") }
            elements.append(try parseValue())
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): offset += 1
            case UInt8(ascii: "]"):
                offset += 1
                return .array(elements)
            default: throw fail("expected ',' or ']' in an array")
            }
        }
    }

    /// An object's key and the `:` after it, with where the key starts; `first` says whether it is the object's
    /// first, for the message when a key is missing (a trailing comma).
    mutating func parseKey(first: Bool) throws(JSONSyntaxError) -> (key: String, offset: Int) {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else {
            throw fail(
                first
                    ? "expected a key in double quotes"
                    : "expected a key in double quotes after ',' (JSON allows no trailing comma)")
        }
        let keyOffset = offset
        let key = try parseString()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else {
            throw fail("expected ':' after the key \(ImportError.quoted(key))")
        }
        offset += 1
        return (key, keyOffset)
    }

    mutating func parseString() throws(JSONSyntaxError) -> String {
        let start = offset
        offset += 1
        // Most strings hold no escape and no control character: they are taken from the bytes in one piece.
        var end = offset
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            end += 1
        }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            guard let string = String(validating: bytes[offset..<end], as: UTF8.self) else {
                throw fail("a string starting here is not valid UTF-8", at: start)
            }
            offset = end + 1
            return string
        }
        var text = Array(bytes[offset..<end])
        offset = end
        while true {
            guard let byte = peek() else { throw fail("a string starting here is never closed", at: start) }
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: text, as: UTF8.self) else {
                    throw fail("a string starting here is not valid UTF-8", at: start)
                }
                return string
            case UInt8(ascii: "\\"):
                try parseEscape(into: &text)
            case 0..<0x20:
                throw fail(
                    "a control character (such as a line break) inside a string; write it as \\n or \\t",
                    at: offset - 1)
            default:
                text.append(byte)
            }
        }
    }

    private mutating func parseEscape(into text: inout [UInt8]) throws(JSONSyntaxError) {
        guard let byte = peek() else { throw fail("the file ends inside an escape sequence") }
        offset += 1
        let simple: UInt8? =
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "n"): 0x0A
            case UInt8(ascii: "r"): 0x0D
            case UInt8(ascii: "t"): 0x09
            default: nil
            }
        if let simple {
            text.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw fail("an unknown escape sequence in a string", at: offset - 2) }
        var scalar = try parseHex4()
        if (0xD800...0xDBFF).contains(scalar) {
            // A character outside the basic plane is written as a surrogate pair: \uD83D\uDE00.
            guard bytes.count >= offset + 2, bytes[offset] == UInt8(ascii: "\\"),
                bytes[offset + 1] == UInt8(ascii: "u")
            else { throw fail("a \\u escape holds half of a surrogate pair without the other half") }
            offset += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw fail("a \\u escape holds half of a surrogate pair without the other half")
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else {
            throw fail("a \\u escape holds half of a surrogate pair without the other half")
        }
        text.append(contentsOf: String(Character(unicode)).utf8)
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count >= offset + 4 else { throw fail("a \\u escape needs four hexadecimal digits") }
        var value: UInt32 = 0
        for byte in bytes[offset..<(offset + 4)] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw fail("a \\u escape needs four hexadecimal digits")
            }
            value = value * 16 + UInt32(digit)
        }
        offset += 4
        return value
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> Double {
        let start = offset
        let negative = peek() == UInt8(ascii: "-")
        if negative { offset += 1 }
        var whole = true
        if peek() == UInt8(ascii: "0") {
            offset += 1
        } else {
            guard digits() > 0 else { throw fail("a number needs digits after '-'", at: start) }
        }
        if peek() == UInt8(ascii: ".") {
            offset += 1
            whole = false
            guard digits() > 0 else { throw fail("a number needs digits after '.'", at: start) }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            offset += 1
            whole = false
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw fail("a number needs digits in its exponent", at: start) }
        }
        if let next = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
            throw fail("a number may not start with 0 unless it is 0 or 0.something", at: start)
        }
        // A whole number of up to 15 digits (a lifetime, a code, a count) is exact in a double: no text to convert.
        let digitsStart = negative ? start + 1 : start
        if whole, offset - digitsStart <= 15 {
            var value = 0
            for byte in bytes[digitsStart..<offset] { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
            return negative ? -Double(value) : Double(value)
        }
        let lexeme = String(decoding: bytes[start..<offset], as: UTF8.self)
        guard let value = Double(lexeme), value.isFinite else { throw fail("a number too large", at: start) }
        return value
    }

    private mutating func digits() -> Int {
        var count = 0
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            offset += 1
            count += 1
        }
        return count
    }

    private mutating func expectWord(_ word: String) throws(JSONSyntaxError) {
        let count = word.utf8.count
        guard bytes.count >= offset + count, bytes[offset..<(offset + count)].elementsEqual(word.utf8) else {
            throw fail("expected a value: a string in double quotes, a number, true, false, null, [ or {")
        }
        offset += count
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw fail("values nested more than \(Self.maximumDepth) deep") }
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
    }

    func peek() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

    func fail(_ problem: String, at position: Int? = nil) -> JSONSyntaxError {
        let end = min(position ?? offset, bytes.count)
        var line = 1
        var lineStart = 0
        for index in 0..<end where bytes[index] == 0x0A {
            line += 1
            lineStart = index + 1
        }
        // Columns count characters, not bytes, so that they match what an editor shows.
        let column = String(decoding: bytes[lineStart..<end], as: UTF8.self).count + 1
        return JSONSyntaxError(line: line, column: column, problem: problem)
    }
}
