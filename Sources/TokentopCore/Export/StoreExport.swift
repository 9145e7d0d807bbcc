import Foundation

/// `tokentop export`: a whole store in one JSON document, to move it between SQLite and PostgreSQL.
///
/// Secrets stay sealed: each sealed value is bound to its row (the connection or integration id is its additional
/// authenticated data), so it is copied as ciphertext and opens in a store that uses the same key. The format is
/// documented in `docs/import-format.md`; ``ImportFile/run(path:openStore:user:at:waiting:)`` restores it.
public enum StoreExport {
    /// The value of the document's `format` member, by which `tokentop import` tells an export from an import file.
    public static let format = "tokentop-export"
    /// The version of the document's layout; a reader refuses a newer one.
    public static let version = 1

    /// Writes the export of `store` to `path` (atomically, mode 0600), or to standard output when `path` is nil or
    /// `-`, and records the export in the store's audit log.
    /// - Returns: how much the export holds.
    /// - Throws: ``StoreError`` for the store, ``AtomicFileError`` when the file cannot be written.
    public static func run(store: Store, to path: String?, user: String, at now: Date) throws -> ExportSummary {
        let target = path == nil || path == "-" ? "standard output" : path!
        guard store.secrets.hasKey else {
            // Opened without a key, so it holds nothing sealed, and no key check that an import could verify.
            throw StoreError(
                .badKey,
                "cannot export \(store.path): no key exists yet (\(SecretBox.keyVariable) is unset and there is no "
                    + "key file at \(store.secrets.missingKeyFile ?? "?")), so the store holds no secret and no key "
                    + "check to bind an export to; import into it first, or set \(SecretBox.keyVariable) to its key; "
                    + "nothing was written", path: store.path)
        }
        if let problem = store.readOnlyProblem(file: true) {
            // Every export is audited, and this store can record nothing.
            throw StoreError(
                .readOnly,
                "cannot export: \(problem), so the export could not be recorded in its audit log; or export a "
                    + "writable copy (cp, with its -wal); nothing was written", path: store.path)
        }
        // The export's failures quote its temporary file, which is no secret either.
        let temporary = target == "standard output" ? [] : [AtomicFile.temporaryPath(for: target)]
        return try store.audited(
            .export, target: target, user: user, at: now, plain: temporary, detail: \.description
        ) {
            if target == "standard output" {
                return try write(store, at: now, cutShort: "standard output holds an incomplete export") {
                    try writeToStandardOutput($0)
                }
            }
            var info = stat()
            if lstat(target, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                throw AtomicFileError(
                    description: "\(target) is not a regular file (a directory, a device, a pipe or a link); "
                        + "name a file for the export, or - for standard output; nothing was written")
            }
            try checkReplaceable(target, store: store)
            var summary = ExportSummary()
            do {
                // A failure midway removes the temporary file: the target shows the whole export or none.
                try AtomicFile.write(to: target, mode: 0o600) { file in
                    summary = try write(store, at: now, cutShort: "nothing was written") { try file.write($0) }
                }
            } catch let error as AtomicFileError {
                throw AtomicFileError(
                    description: "cannot write the export \(target) (\(error)); check that its directory exists "
                        + "and is writable; nothing was written")
            }
            return summary
        }
    }

    /// The first bytes of every export document, by which an earlier export is told from any other file.
    static var signature: String { "{\n\"format\":\"\(format)\"," }

    /// Refuses to replace anything but an earlier export: never the store's own files, nor the key file, nor any
    /// other file a mistyped name might hit.
    private static func checkReplaceable(_ target: String, store: Store) throws {
        do {
            try ReplaceableFile.refuse(
                target, ifItIs: ReplaceableFile.storeFiles(store, database: "the database being exported"))
            try ReplaceableFile.check(target, signature: signature, kind: "an export")
        } catch let error as AtomicFileError {
            throw AtomicFileError(description: "\(error.description); nothing was written")
        }
    }

    /// Writes all of `document` to standard output, or throws: a full disk or a closed pipe must not pass for a
    /// finished export.
    private static func writeToStandardOutput(_ document: [UInt8]) throws {
        guard let code = AtomicFile.writeAll(document, to: STDOUT_FILENO) else { return }
        throw AtomicFileError(
            description: "cannot write the export to standard output (\(String(cString: strerror(code)))); it is "
                + "incomplete")
    }

    /// How many bytes of the document ``write(_:at:blockSize:cutShort:to:)`` gathers before it hands them on.
    static let blockSize = 1 << 16

    /// Writes the export document of `store` through `emit`, a block of about `blockSize` bytes at a time: the
    /// tables are read in one snapshot, row by row, and each row is written as it is read, one row per line, so
    /// that a large export can be read and compared by eye. Neither the rows nor the document are ever held whole.
    ///
    /// Every sealed value is opened before the first block is emitted (``Store/withExportSnapshot(_:)``).
    /// - Parameter cutShort: what a failure after the first block leaves behind, for its message.
    /// - Returns: how much the export holds.
    /// - Throws: ``StoreError`` for the store and for a value a JSON number cannot carry, and what `emit` throws.
    static func write(
        _ store: Store, at now: Date, blockSize: Int = blockSize, cutShort: String, to emit: ([UInt8]) throws -> Void
    ) throws -> ExportSummary {
        try store.withExportSnapshot { snapshot in
            var writer = JSONWriter()
            var emitted = false
            func flush(over limit: Int) throws {
                guard writer.bytes.count > limit else { return }
                try emit(writer.bytes)
                writer.removeAll()
                emitted = true
            }
            writer.raw("{\n")
            let header: [(String, JSONWriter.Value)] = [
                ("format", .string(format)), ("version", .int(version)), ("schema", .int(snapshot.schema)),
                ("exported_at", .string(timestamp(now))), ("source", .string(snapshot.source)),
                ("key_check", .string(Data(snapshot.keyCheck).base64EncodedString())),
            ]
            for (name, value) in header {
                writer.key(name)
                writer.append(value)
                writer.raw(",\n")
            }
            writer.key("tables")
            writer.raw("{\n")
            var counts: [String: Int] = [:]
            for (index, (table, key, _)) in StoreDump.tables.enumerated() {
                writer.key(table)
                writer.raw("[\n")
                var position = 0
                try snapshot.forEachRow(of: table, orderedBy: key) { row in
                    if position > 0 { writer.raw(",\n") }
                    let consequence = emitted ? cutShort : "nothing was written"
                    writer.object(
                        try row.map { field in
                            let place = { "\(label(table, index: position, row: row)): \(field.column)" }
                            return (field.column, try value(field.value, place, store: store, consequence))
                        })
                    position += 1
                    try flush(over: blockSize)
                }
                counts[table] = position
                if position > 0 { writer.raw("\n") }
                writer.raw(index == StoreDump.tables.count - 1 ? "]\n" : "],\n")
            }
            writer.raw("}\n}\n")
            try flush(over: 0)
            return ExportSummary(
                integrations: counts["integrations"] ?? 0, connections: counts["connections"] ?? 0,
                history: counts["history"] ?? 0, audit: counts["audit"] ?? 0)
        }
    }

    /// A column's value as JSON: null, a number, a string, or `{"base64": …}` for bytes (the sealed secrets).
    /// - Parameters:
    ///   - place: the table, row and column, for the message of a value that cannot be exported.
    ///   - consequence: what the export leaves behind when it stops here.
    private static func value(
        _ value: SQLValue, _ place: () -> String, store: Store, _ consequence: String
    ) throws -> JSONWriter.Value {
        switch value {
        case .null: return .string(nil)
        case .text(let text): return .string(text)
        case .real(let number): return .double(number)
        case .blob(let bytes): return .object([("base64", .string(Data(bytes).base64EncodedString()))])
        case .integer(let number):
            // The reader parses numbers as doubles, which hold every integer up to 2^53 exactly.
            guard abs(number) <= 1 << 53 else {
                throw StoreError(
                    .notADatabase,
                    "cannot export \(Store.displayName(store.path)): \(place()) holds \(number), beyond the "
                        + "integers a JSON number carries exactly; \(consequence)", path: store.path)
            }
            return .int(number)
        }
    }

    /// RFC 3339 in UTC, to the second.
    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
