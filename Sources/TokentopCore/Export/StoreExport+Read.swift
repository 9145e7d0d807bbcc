import Foundation

// FIXME: only the secrets (sealed to their rows) and the audit chain are checked against the key; the facts around
// them (a subject, a history entry, the whole audit log with its anchor) can be edited or removed in an export
// without the import noticing. Sealing a digest of the whole document under the key would catch that.
extension StoreExport {
    static let topKeys = ["format", "version", "schema", "exported_at", "source", "key_check", "tables"]

    /// What a file given to `tokentop import` turned out to be.
    enum Reading {
        /// A whole-store export, checked; its rows stay in the file's bytes until the restore reads them.
        case export(StoreDump)
        /// Any other document, parsed whole: an import file.
        case other(JSONValue)
    }

    /// Whether `bytes` begin the way `tokentop export` writes a file: an object whose first member is its `format`.
    /// Only the first bytes are looked at, so that the import can allow an export more room before parsing it.
    static func looksLikeExport(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(256), as: UTF8.self).filter { !$0.isWhitespace }
        return head.hasPrefix("{\"format\":\"\(format)\"")
    }

    /// Reads a file to import: an export (its `format` says so) member by member, every row of its tables checked
    /// one at a time and then dropped, so that no tree of the whole document (several times its size) is ever held;
    /// any other document is parsed whole, as an import file is.
    /// - Parameter now: the restore's clock, which the times that must have passed are checked against.
    /// - Throws: ``ImportError`` naming the file, and for an export the table, the row and the column.
    static func read(_ bytes: [UInt8], source file: String, at now: Date) throws -> Reading {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.peek() == UInt8(ascii: "{") else { return .other(try ImportFile.document(bytes, source: file)) }
        var top = JSONObject()
        var tables: Tables?
        var hasTables = false
        do {
            try parser.forEachMember { parser, name in
                guard name == "tables" else {
                    _ = top.insert(name, try parser.parseValue())
                    return
                }
                hasTables = true
                _ = top.insert(name, .null)
                tables = try locateTables(&parser)
            }
            try parser.finish()
        } catch let error as JSONSyntaxError {
            throw ImportFile.notJSON(error, source: file)
        }
        if let given = top["format"], given.string != format {
            // An import file has no `format`: this is an export whose format was mistyped (or another program's
            // file), and its members would otherwise be named one by one as unknown keys of an import file.
            let named = given.string.map { "\(ImportError.quoted($0)) is" } ?? "\(given.kindName) is"
            throw ImportError(
                file: file, field: "format",
                problem: "\(named) not the format of a tokentop export (\"\(format)\"), and an import file has no "
                    + "format member; nothing was imported")
        }
        guard top["format"] != nil else {
            // An import file has no tables; one that does is refused by the import's reader, which sees it whole.
            return .other(hasTables ? try ImportFile.document(bytes, source: file) : .object(top))
        }
        return .export(try read(top, tables: tables, bytes: bytes, source: file, at: now))
    }

    /// The names of the members of `tables`, and where the array of each that is one starts.
    private struct Tables {
        var names: [String] = []
        var offsets: [String: Int] = [:]
    }

    /// Passes over the value of `tables`, checking its syntax and keeping only where each table starts; nil when it
    /// is not an object.
    private static func locateTables(_ parser: inout JSONParser) throws -> Tables? {
        guard parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue()
            return nil
        }
        var tables = Tables()
        try parser.forEachMember { parser, name in
            tables.names.append(name)
            guard parser.peek() == UInt8(ascii: "[") else { return try parser.skipValue() }
            // The rows are parsed, and their syntax checked, when they are checked.
            tables.offsets[name] = parser.offset
            try parser.skipBrackets()
        }
        return tables
    }

    /// Checks an export's header, then every row of its tables, table by table in the order they are restored.
    private static func read(
        _ top: JSONObject, tables: Tables?, bytes: [UInt8], source file: String, at now: Date
    ) throws -> StoreDump {
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
        guard let tables else {
            throw ImportError(file: file, field: "tables", problem: "missing; expected an object of tables")
        }
        var members = JSONObject()
        for name in tables.names { _ = members.insert(name, .null) }
        let names = StoreDump.tables.map(\.name)
        try ImportFieldReader(object: members, file: file, entry: "tables").rejectUnknownKeys(names)
        // An export of a store older than a table lacks it, and restores no rows there.
        let absent = StoreDump.tables.filter { schema < $0.since && !tables.names.contains($0.name) }.map(\.name)
        if let missing = names.first(where: { tables.offsets[$0] == nil && !absent.contains($0) }) {
            throw ImportError(
                file: file, entry: "tables", field: missing,
                problem: "missing or not an array; an export holds every table, even an empty one")
        }
        var dump = StoreDump(
            schema: schema, exportedAt: (try reader.string("exported_at")) ?? "an unknown time",
            source: (try reader.string("source")) ?? "an unknown store", keyCheck: [UInt8](keyCheck), file: file,
            bytes: bytes, offsets: tables.offsets)
        var check = RowCheck(file: file, at: now)
        for name in names {
            try dump.forEachRow(of: name) { index, row in try check.check(row, table: name, index: index) }
            try check.endTable(name)
        }
        dump.counts = check.counts
        return dump
    }

    /// The row that starts where `parser` is, as (column, value) pairs in the file's order, read member by member.
    static func row(_ parser: inout JSONParser, file: String, entry: String) throws -> StoreDump.Row {
        guard parser.peek() == UInt8(ascii: "{") else {
            let value = try parser.parseValue()
            throw ImportError(
                file: file, entry: entry, problem: "expected an object of columns, found \(value.kindName)")
        }
        var row: StoreDump.Row = []
        try parser.forEachMember { parser, column in
            // Column names end up in SQL; the restore also checks each against the target table's columns.
            let lowercase = UInt8(ascii: "a")...UInt8(ascii: "z")
            let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
            guard !column.isEmpty,
                column.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || lowercase.contains($0) || digits.contains($0) })
            else {
                throw ImportError(file: file, entry: entry, field: column, problem: "not a column name")
            }
            row.append((column, try sqlValue(try parser.parseValue(), file: file, entry: entry, column: column)))
        }
        return row
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

extension StoreDump {
    /// Reads the rows of `table` from the document one at a time, handing each to `body` with its position.
    /// - Throws: ``ImportError`` for a row that is not an object of column values, and what `body` throws.
    func forEachRow(of table: String, _ body: (_ index: Int, _ row: Row) throws -> Void) throws {
        guard let offset = offsets[table] else { return }
        var parser = JSONParser(bytes: bytes)
        parser.offset = offset
        do {
            try parser.forEachElement { parser, index in
                try body(index, try StoreExport.row(&parser, file: file, entry: "tables.\(table)[\(index)]"))
            }
        } catch let error as JSONSyntaxError {
            throw ImportFile.notJSON(error, source: file)
        }
    }
}
