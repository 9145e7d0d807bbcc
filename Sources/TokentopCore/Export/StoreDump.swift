import Foundation

/// An export document read and checked: what importing an export restores.
///
/// Its rows stay in the document's bytes, and ``forEachRow(of:_:)`` reads them again table by table as the restore
/// inserts them: a tree of a 100,000-connection document, or all its rows at once, takes several times the file's
/// size. Rows keep their columns by name, so that one code path writes both engines, and an export from an older
/// schema (fewer columns) restores into a newer one, whose new columns take their defaults.
struct StoreDump {
    /// One row: (column, value) pairs, in the order the document gives them.
    typealias Row = [(column: String, value: SQLValue)]

    /// The schema version of the store that was exported.
    var schema: Int
    /// When it was exported, as written in the file.
    var exportedAt: String
    /// Where it came from: a file path or a PostgreSQL URL without its password.
    var source: String
    /// The source's key check, sealed with its key: an export restores only where the same key opens it.
    var keyCheck: [UInt8]
    /// The file, as error messages name it.
    let file: String
    /// The document.
    // FIXME: the restore still holds the whole file (119 MB of the 181 MB peak RSS that restoring 100,000
    // connections takes, down from 924 MB): standard input cannot be read twice. Mapping a regular file, and
    // spooling standard input to a temporary one, would leave only the table being read in memory.
    let bytes: [UInt8]
    /// Where each table's array starts in ``bytes``.
    let offsets: [String: Int]
    /// How many rows each table holds, counted when they were checked.
    var counts: [String: Int] = [:]

    /// The tables an export holds, in the order they are written and restored, each with the column that orders
    /// its rows (integrations before the connections that reference them) and the first schema version whose
    /// exports hold it: an export of an older store lacks it, and restores none.
    static let tables: [(name: String, key: String, since: Int)] = [
        ("integrations", "id", 1), ("connections", "id", 1), ("history", "id", 1),
        ("deleted_connections", "change_seq", 14), ("audit", "seq", 1), ("meta", "name", 1),
    ]

    /// Columns that describe one process's claim on a connection, meaningless in another store.
    static let leaseColumns: Set<String> = ["lease_owner", "lease_until"]

    /// How many rows of each kind the export holds.
    var summary: ExportSummary {
        ExportSummary(
            integrations: counts["integrations"] ?? 0, connections: counts["connections"] ?? 0,
            history: counts["history"] ?? 0, audit: counts["audit"] ?? 0)
    }
}
