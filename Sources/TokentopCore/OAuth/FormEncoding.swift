import Foundation

/// `application/x-www-form-urlencoded` as RFC 6749 Appendix B uses it.
enum FormEncoding {
    static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func encode(_ fields: [(String, String)]) -> Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } + 16)
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: "&")) }
            append(name, to: &bytes)
            bytes.append(UInt8(ascii: "="))
            append(value, to: &bytes)
        }
        return Data(bytes)
    }

    /// Appends `text` percent-encoded, all but RFC 3986's unreserved characters, byte by byte of its UTF-8: the same
    /// as `addingPercentEncoding`, which went through CFString and was the largest cost of building a request.
    private static func append(_ text: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0f)])
            }
        }
    }

    /// A form's name-value pairs in the order they come, a repeated name as often as it is repeated.
    static func pairs(_ data: Data) -> [(name: String, value: String)] {
        String(decoding: data, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let plus = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ") }
            let name = plus(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (plus(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    /// A form's fields by name; of a repeated name, the first value. A reader that must notice a repeated name (a
    /// token answer) reads ``pairs(_:)``.
    static func decode(_ data: Data) -> [String: String] {
        var fields: [String: String] = [:]
        for (name, value) in pairs(data) where fields[name] == nil { fields[name] = value }
        return fields
    }
}
