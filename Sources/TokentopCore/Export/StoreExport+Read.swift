import Foundation

// FIXME: only the secrets (sealed to their rows) and the audit chain are checked against the key; the facts around
// them (a subject, a history entry, the whole audit log with its anchor) can be edited or removed in an export
// without the import noticing. Sealing a digest of the whole document under the key would catch that.
extension StoreExport {
    static let topKeys = ["format", "version", "schema", "exported_at", "source", "key_check", "tables"]

    /// Whether a parsed file is an export (its `format` says so) rather than an import file.
    static func isExport(_ root: JSONValue) -> Bool {
        guard case .object(let top) = root, case .string(let format)? = top["format"] else { return false }
        return format == Self.format
    }

    /// Whether `data` begins the way `tokentop export` writes a file: an object whose first member is its `format`.
    /// Only the first bytes are looked at, so that the import can allow an export more room before parsing it.
    static func looksLikeExport(_ data: Data) -> Bool {
        let head = String(decoding: data.prefix(256), as: UTF8.self).filter { !$0.isWhitespace }
        return head.hasPrefix("{\"format\":\"\(format)\"")
    }

    /// Reads and checks an export document; every error names the file, and the table, row and column.
    /// - Parameter now: the restore's clock, which the times that must have passed are checked against.
    /// - Throws: ``ImportError``.
    static func read(_ root: JSONValue, source file: String, at now: Date) throws -> StoreDump {
        guard case .object(let top) = root else { throw ImportError(file: file, problem: "expected a JSON object") }
        let reader = ImportFieldReader(object: top, file: file, entry: nil)
        try reader.rejectUnknownKeys(topKeys)
        let version = try wholeNumber(top["version"], file: file, field: "version")
        guard version <= Self.version else {
            throw ImportError(
                file: file, field: "version",
                problem: "export format version \(version) is newer than this tokentop reads (\(Self.version)); "
                    + "import it with a newer tokentop")
        }
        let schema = try wholeNumber(top["schema"], file: file, field: "schema")
        guard (1...Schema.latest).contains(schema) else {
            throw ImportError(
                file: file, field: "schema",
                problem: schema > Schema.latest
                    ? "the export comes from a store of schema version \(schema), newer than this tokentop knows "
                        + "(\(Schema.latest)); import it with the tokentop that exported it, or a newer one"
                    : "schema version \(schema) is not a version tokentop ever wrote")
        }
        guard case .string(let keyText)? = top["key_check"], let keyCheck = Data(base64Encoded: keyText) else {
            throw ImportError(
                file: file, field: "key_check", problem: "missing, or not base64; it must be copied from the export")
        }
        guard case .object(let tablesObject)? = top["tables"] else {
            throw ImportError(file: file, field: "tables", problem: "missing; expected an object of tables")
        }
        let names = StoreDump.tables.map(\.name)
        try ImportFieldReader(object: tablesObject, file: file, entry: "tables").rejectUnknownKeys(names)
        var tables: [StoreDump.Table] = []
        for (name, _, since) in StoreDump.tables {
            if tablesObject[name] == nil, schema < since {
                // The store it came from had no such table yet.
                tables.append(StoreDump.Table(name: name, rows: []))
                continue
            }
            guard case .array(let values)? = tablesObject[name] else {
                throw ImportError(
                    file: file, entry: "tables", field: name,
                    problem: "missing or not an array; an export holds every table, even an empty one")
            }
            var rows: [[(column: String, value: SQLValue)]] = []
            rows.reserveCapacity(values.count)
            for (index, value) in values.enumerated() {
                rows.append(try row(value, file: file, entry: "tables.\(name)[\(index)]"))
            }
            tables.append(StoreDump.Table(name: name, rows: rows))
        }
        let dump = StoreDump(
            schema: schema, exportedAt: (try reader.string("exported_at")) ?? "an unknown time",
            source: (try reader.string("source")) ?? "an unknown store", keyCheck: [UInt8](keyCheck), tables: tables)
        try check(dump, file: file, at: now)
        return dump
    }

    private static func row(
        _ value: JSONValue, file: String, entry: String
    ) throws -> [(column: String, value: SQLValue)] {
        guard case .object(let object) = value else {
            throw ImportError(
                file: file, entry: entry, problem: "expected an object of columns, found \(value.kindName)")
        }
        return try object.keys.map { column in
            // Column names end up in SQL; the restore also checks each against the target table's columns.
            let lowercase = UInt8(ascii: "a")...UInt8(ascii: "z")
            let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
            guard !column.isEmpty,
                column.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || lowercase.contains($0) || digits.contains($0) })
            else {
                throw ImportError(file: file, entry: entry, field: column, problem: "not a column name")
            }
            return (column, try sqlValue(object[column] ?? .null, file: file, entry: entry, column: column))
        }
    }

    /// A JSON value as the column value it stands for.
    private static func sqlValue(_ value: JSONValue, file: String, entry: String, column: String) throws -> SQLValue {
        switch value {
        case .null: return .null
        case .string(let text): return .text(text)
        case .number(let number):
            // Whole numbers bind as integers, which both engines also accept for a floating-point column.
            if number == number.rounded(), abs(number) <= 9_007_199_254_740_992 { return .integer(Int(number)) }
            return .real(number)
        case .object(let object):
            guard object.keys == ["base64"], case .string(let text)? = object["base64"],
                let bytes = Data(base64Encoded: text)
            else {
                throw ImportError(
                    file: file, entry: entry, field: column,
                    problem: "expected {\"base64\": \"…\"} holding the sealed bytes")
            }
            return .blob([UInt8](bytes))
        case .bool, .array:
            throw ImportError(
                file: file, entry: entry, field: column,
                problem: "expected null, a number, a string or {\"base64\": …}, found \(value.kindName)")
        }
    }

    private static func wholeNumber(_ value: JSONValue?, file: String, field: String) throws -> Int {
        guard case .number(let number)? = value, number == number.rounded(), abs(number) < 1e9 else {
            throw ImportError(file: file, field: field, problem: "missing, or not a whole number")
        }
        return Int(number)
    }
}
