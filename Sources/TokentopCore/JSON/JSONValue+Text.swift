extension JSONValue {
    /// The value as compact JSON, an object's members sorted by name: how a message quotes a value that is not a
    /// string, such as an `error` member that is an object.
    var sortedText: String {
        var text = ""
        write(to: &text)
        return text
    }

    /// A number as a message shows it: a whole number within ±2^53 without a fraction (`3600`, never `3600.0`),
    /// any other in Swift's shortest form that reads back as the same double (`59.5`, `1e+30`).
    static func numberText(_ number: Double) -> String {
        if number == number.rounded(), abs(number) <= 9_007_199_254_740_992 { return String(Int64(number)) }
        return "\(number)"
    }

    private func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .number(let number): text += Self.numberText(number)
        case .string(let string): Self.write(string: string, to: &text)
        case .array(let elements):
            text += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { text += "," }
                element.write(to: &text)
            }
            text += "]"
        case .object(let object):
            text += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                Self.write(string: key, to: &text)
                text += ":"
                object[key]?.write(to: &text)
            }
            text += "}"
        }
    }

    /// `string` as a JSON string literal: quotes, backslashes and control characters escaped (RFC 8259 §7).
    static func quoted(_ string: String) -> String {
        var text = ""
        write(string: string, to: &text)
        return text
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
    private static func write(string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{0}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
