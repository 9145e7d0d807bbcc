/// A small JSON writer for large outputs: `list --json` over 100,000 connections, where building Foundation
/// objects first costs seconds and hundreds of megabytes.
struct JSONWriter {
    /// One value of an object's field.
    enum Value {
        case string(String?)
        case int(Int?)
        /// Written in Swift's shortest form that reads back as the same double, so a date survives a round trip.
        case double(Double?)
        case bool(Bool)
        case strings([String])
        case object([(String, Value)]?)
        case objects([[(String, Value)]])
    }

    private(set) var bytes: [UInt8] = []

    /// Appends `fields` as one object, keys in the order given (callers pass them sorted, for stable output).
    mutating func object(_ fields: [(String, Value)]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(field.0)
            bytes.append(UInt8(ascii: ":"))
            value(field.1)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Forgets what was written, keeping the room, once a block of a large document has been handed on.
    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Appends `"key":`, for a document written member by member (an export too large to build first).
    mutating func key(_ key: String) {
        string(key)
        bytes.append(UInt8(ascii: ":"))
    }

    /// Appends one value on its own.
    mutating func append(_ value: Value) { self.value(value) }

    private mutating func value(_ value: Value) {
        switch value {
        case .string(let text?): string(text)
        case .int(let number?): raw(String(number))
        case .double(let number?): raw(number.isFinite ? "\(number)" : "null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .strings(let list):
            bytes.append(UInt8(ascii: "["))
            for (index, text) in list.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(text)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let fields?): object(fields)
        case .objects(let list):
            bytes.append(UInt8(ascii: "["))
            for (index, fields) in list.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                object(fields)
            }
            bytes.append(UInt8(ascii: "]"))
        case .string(nil), .int(nil), .double(nil), .object(nil): raw("null")
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped (RFC 8259 §7).
    private mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                raw("\\u00")
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0f)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
