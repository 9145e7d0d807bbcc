import Foundation

/// A whole store as rows: what `tokentop export` writes and what importing an export restores.
///
/// Rows keep their columns by name, so that one code path reads and writes both engines, and an export from an
/// older schema (fewer columns) restores into a newer one, whose new columns take their defaults.
struct StoreDump {
    /// One table's rows, each a list of (column, value) in the table's column order.
    struct Table {
        let name: String
        var rows: [[(column: String, value: SQLValue)]]
    }

    /// The schema version of the store that was exported.
    var schema: Int
    /// When it was exported, as written in the file.
    var exportedAt: String
    /// Where it came from: a file path or a PostgreSQL URL without its password.
    var source: String
    /// The source's key check, sealed with its key: an export restores only where the same key opens it.
    var keyCheck: [UInt8]
    /// In ``tables`` order: integrations before the connections that reference them.
    var tables: [Table]

    /// The tables an export holds, in the order they are restored, each with the column that orders its rows and
    /// the first schema version whose exports hold it: an export of an older store lacks it, and restores none.
    static let tables: [(name: String, key: String, since: Int)] = [
        ("integrations", "id", 1), ("connections", "id", 1), ("history", "id", 1),
        ("deleted_connections", "change_seq", 14), ("audit", "seq", 1), ("meta", "name", 1),
    ]

    /// Columns that describe one process's claim on a connection, meaningless in another store.
    static let leaseColumns: Set<String> = ["lease_owner", "lease_until"]

    /// The rows of `name`, or none.
    func rows(of name: String) -> [[(column: String, value: SQLValue)]] {
        tables.first { $0.name == name }?.rows ?? []
    }
}
