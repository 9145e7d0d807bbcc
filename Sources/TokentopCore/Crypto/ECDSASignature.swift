/// Converts ECDSA signatures between OpenSSL's DER form and the JWS raw form (RFC 7518 §3.4).
///
/// OpenSSL writes `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` in DER; a JWS carries `r` and `s` as
/// two unsigned big-endian numbers, each left-padded to the curve's size (32 bytes for P-256), concatenated.
enum ECDSASignature {
    /// The raw `r || s` form, `2 * width` bytes, or nil when `der` is not a well-formed ECDSA-Sig-Value whose
    /// numbers fit in `width` bytes.
    static func raw(fromDER der: [UInt8], width: Int) -> [UInt8]? {
        var reader = DERReader(bytes: der)
        guard let sequence = reader.read(tag: 0x30), reader.isAtEnd else { return nil }
        var inner = DERReader(bytes: sequence)
        guard let r = inner.read(tag: 0x02), let s = inner.read(tag: 0x02), inner.isAtEnd,
            let paddedR = unsigned(r, width: width), let paddedS = unsigned(s, width: width)
        else { return nil }
        return paddedR + paddedS
    }

    /// The DER form of a raw `r || s` signature, or nil when its length is odd or zero.
    static func der(fromRaw raw: [UInt8]) -> [UInt8]? {
        guard !raw.isEmpty, raw.count % 2 == 0 else { return nil }
        let half = raw.count / 2
        let body = integer(Array(raw[..<half])) + integer(Array(raw[half...]))
        return [0x30] + length(body.count) + body
    }

    /// A DER INTEGER's content as an unsigned number left-padded to `width` bytes.
    private static func unsigned(_ content: [UInt8], width: Int) -> [UInt8]? {
        // A positive DER INTEGER carries one leading zero when its top bit is set; ECDSA numbers are never negative.
        guard let first = content.first, first & 0x80 == 0 else { return nil }
        let digits = content.drop { $0 == 0 }
        guard digits.count <= width else { return nil }
        return [UInt8](repeating: 0, count: width - digits.count) + digits
    }

    private static func integer(_ unsigned: [UInt8]) -> [UInt8] {
        var digits = Array(unsigned.drop { $0 == 0 })
        if digits.isEmpty { digits = [0] }
        if digits[0] & 0x80 != 0 { digits.insert(0, at: 0) }
        return [0x02] + length(digits.count) + digits
    }

    private static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var rest = count
        while rest > 0 {
            bytes.insert(UInt8(rest & 0xff), at: 0)
            rest >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }
}

/// Reads definite-length DER elements one after another.
private struct DERReader {
    let bytes: [UInt8]
    var offset = 0

    var isAtEnd: Bool { offset == bytes.count }

    /// The content of the next element when its tag is `tag`; nil when the tag differs or the length is wrong.
    mutating func read(tag: UInt8) -> [UInt8]? {
        guard offset + 2 <= bytes.count, bytes[offset] == tag else { return nil }
        var cursor = offset + 1
        var count = Int(bytes[cursor])
        cursor += 1
        if count & 0x80 != 0 {
            let lengthBytes = count & 0x7f
            guard (1...2).contains(lengthBytes), cursor + lengthBytes <= bytes.count else { return nil }
            count = bytes[cursor..<(cursor + lengthBytes)].reduce(0) { $0 << 8 | Int($1) }
            cursor += lengthBytes
        }
        guard cursor + count <= bytes.count else { return nil }
        offset = cursor + count
        return Array(bytes[cursor..<(cursor + count)])
    }
}
