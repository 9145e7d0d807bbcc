import Foundation

/// A parsed JSON value that keeps the order of an object's members.
///
/// The core reads JSON from outside (import files, the configuration, the provider catalog, exports) with its own
/// strict parser (RFC 8259) rather than `JSONDecoder`, because the decoder accepts trailing commas, keeps one of
/// two duplicate keys silently, cannot tell where invalid JSON went wrong, and turns `true` into a number on some
/// platforms.
enum JSONValue {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The value's type as an error message names it: "a string", "an array".
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The text when the value is a string, else nil.
    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// Which objects may repeat a member name (RFC 8259 §4: names SHOULD be unique).
    enum DuplicateKeys: Sendable {
        /// None: a name repeated in any object is an error. Files a person writes are held to this.
        case refused
        /// Nested objects may, and keep the last value, as most readers do; a name repeated in the top-level object
        /// is an error. For a token answer, whose parameters are the top-level members (RFC 6749 §3.2 allows each
        /// once), and whose nested members are not read.
        case refusedAtTopLevel
    }

    /// Parses `data` as exactly one JSON value.
    /// - Parameter duplicateKeys: which objects may repeat a member name.
    /// - Throws: ``JSONSyntaxError`` naming the line and column where the text stops being JSON.
    static func parse(
        _ data: Data, duplicateKeys: DuplicateKeys = .refused
    ) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: [UInt8](data), duplicateKeys: duplicateKeys)
        return try parser.parseDocument()
    }
}

/// A JSON object: its members in file order, and by key.
struct JSONObject {
    private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    subscript(key: String) -> JSONValue? { values[key] }

    /// Adds a member; returns false when the key is already present.
    mutating func insert(_ key: String, _ value: JSONValue) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        return true
    }

    /// Adds a member, or gives a present one a new value in its old place.
    mutating func update(_ key: String, _ value: JSONValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }
}
