import CPostgres
import CSQLite
import Foundation

/// The current row of a query, valid only inside the `query` callback that received it.
///
/// A struct over the engine's own result rather than a protocol: a large read calls these accessors millions of
/// times, and a switch costs less than a dynamic call.
struct SQLRow {
    enum Source {
        /// A stepped SQLite statement.
        case sqlite(OpaquePointer)
        /// A PostgreSQL result (text format) and the row's index in it.
        case postgres(OpaquePointer, Int32)
    }

    let source: Source

    func isNull(_ column: Int32) -> Bool {
        switch source {
        case .sqlite(let statement): sqlite3_column_type(statement, column) == SQLITE_NULL
        case .postgres(let result, let row): PQgetisnull(result, row, column) != 0
        }
    }

    func string(_ column: Int32) -> String? {
        switch source {
        case .sqlite(let statement):
            // SQLite's rule: ask for the pointer first, then its length (which spares a strlen per value).
            guard let text = sqlite3_column_text(statement, column) else { return nil }
            let count = Int(sqlite3_column_bytes(statement, column))
            return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
        case .postgres(let result, let row):
            guard PQgetisnull(result, row, column) == 0, let text = PQgetvalue(result, row, column) else { return nil }
            let count = Int(PQgetlength(result, row, column))
            return text.withMemoryRebound(to: UInt8.self, capacity: count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
            }
        }
    }

    func int(_ column: Int32) -> Int {
        switch source {
        case .sqlite(let statement): return Int(sqlite3_column_int64(statement, column))
        case .postgres(let result, let row):
            guard PQgetisnull(result, row, column) == 0, let text = PQgetvalue(result, row, column) else { return 0 }
            return Int(strtoll(text, nil, 10))
        }
    }

    func double(_ column: Int32) -> Double? {
        if isNull(column) { return nil }
        switch source {
        case .sqlite(let statement): return sqlite3_column_double(statement, column)
        case .postgres(let result, let row): return PQgetvalue(result, row, column).map { strtod($0, nil) }
        }
    }

    func bool(_ column: Int32) -> Bool {
        switch source {
        case .sqlite(let statement): return sqlite3_column_int64(statement, column) != 0
        case .postgres(let result, let row):
            // A boolean expression comes as `t` or `f`; the store's own flags are integer columns.
            guard PQgetisnull(result, row, column) == 0, let text = PQgetvalue(result, row, column) else {
                return false
            }
            return text.pointee == CChar(bitPattern: UInt8(ascii: "t")) || strtoll(text, nil, 10) != 0
        }
    }

    // FIXME: process heartbeats and lease times still read text edited into them as 0 (1970): an entry seen
    // long ago, a lease already over; connections, history and audit times go through time(_:), which refuses it.
    func date(_ column: Int32) -> Date? { double(column).map { Date(timeIntervalSince1970: $0) } }

    /// What a column that should hold a time holds instead, for an error that names the column and the row.
    struct NotATime: Error {
        /// The value as stored, quoted and clipped: `"soon"`, `NaN`, `a blob of 8 bytes`.
        let stored: String
    }

    /// The column's time, stored as seconds since 1970, or nil for NULL. Unlike ``date(_:)``, which reads what
    /// is no number as 0, it refuses what a hand edit can leave: SQLite keeps text written into a REAL column
    /// (`SET expires_at = 'soon'`) as text, and PostgreSQL's double precision takes `'NaN'` and `'Infinity'`.
    /// - Throws: ``NotATime`` with the stored value when it is no finite number.
    func time(_ column: Int32) throws(NotATime) -> Date? {
        let seconds: Double
        switch source {
        case .sqlite(let statement):
            switch sqlite3_column_type(statement, column) {
            case SQLITE_NULL: return nil
            case SQLITE_INTEGER, SQLITE_FLOAT: seconds = sqlite3_column_double(statement, column)
            case SQLITE_BLOB:
                throw NotATime(stored: "a blob of \(sqlite3_column_bytes(statement, column)) bytes")
            default:
                let text = string(column) ?? ""
                guard let number = Double(text) else { throw NotATime(stored: Self.quoted(text)) }
                seconds = number
            }
        case .postgres(let result, let row):
            guard PQgetisnull(result, row, column) == 0 else { return nil }
            let text = string(column) ?? ""
            guard let number = Double(text) else { throw NotATime(stored: Self.quoted(text)) }
            seconds = number
        }
        guard seconds.isFinite else { throw NotATime(stored: "\(seconds)") }
        return Date(timeIntervalSince1970: seconds)
    }

    /// `text` in double quotes for a message, escaped, and cut after 40 characters.
    private static func quoted(_ text: String) -> String {
        JSONValue.quoted(text.count > 40 ? String(text.prefix(39)) + "…" : text)
    }

    func blob(_ column: Int32) -> [UInt8]? {
        if isNull(column) { return nil }
        switch source {
        case .sqlite(let statement):
            // SQLite's rule: ask for the pointer first, then its length.
            let bytes = sqlite3_column_blob(statement, column)
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let bytes else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        case .postgres(let result, let row):
            // bytea in text format is hex: `\x` and two digits per byte.
            guard let text = PQgetvalue(result, row, column) else { return nil }
            let count = Int(PQgetlength(result, row, column))
            return text.withMemoryRebound(to: UInt8.self, capacity: count) {
                PostgresDatabase.decodeHex(UnsafeBufferPointer(start: $0, count: count))
            }
        }
    }

    /// The column's value in the type the engine holds it in, for copying rows without knowing their columns.
    func value(_ column: Int32) -> SQLValue {
        if isNull(column) { return .null }
        switch source {
        case .sqlite(let statement):
            switch sqlite3_column_type(statement, column) {
            case SQLITE_INTEGER: return .integer(int(column))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
            case SQLITE_BLOB: return .blob(blob(column) ?? [])
            default: return .text(string(column) ?? "")
            }
        case .postgres(let result, _):
            switch PQftype(result, column) {
            case Self.int8, Self.int4, Self.int2: return .integer(int(column))
            case Self.float8, Self.float4, Self.numeric: return double(column).map { .real($0) } ?? .null
            case Self.bytea: return .blob(blob(column) ?? [])
            case Self.bool: return .integer(string(column) == "t" ? 1 : 0)
            default: return .text(string(column) ?? "")
            }
        }
    }

    // PostgreSQL's type OIDs (pg_type.dat), fixed since the catalog began; libpq exports no names for them.
    private static let bool: Oid = 16
    private static let bytea: Oid = 17
    private static let int8: Oid = 20
    private static let int2: Oid = 21
    private static let int4: Oid = 23
    private static let float4: Oid = 700
    private static let float8: Oid = 701
    private static let numeric: Oid = 1700
}
