import Foundation

/// `tokentop export`: a whole store in one JSON document, to move it between SQLite and PostgreSQL.
///
/// Secrets stay sealed: each sealed value is bound to its row (the connection or integration id is its additional
/// authenticated data), so it is copied as ciphertext and opens in a store that uses the same key. The format is
/// documented in `docs/import-format.md`; ``ImportFile/run(path:openStore:user:at:)`` restores it.
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
        // The export's failures quote its temporary file, which is no secret either.
        let temporary = target == "standard output" ? [] : [AtomicFile.temporaryPath(for: target)]
        return try store.audited(
            .export, target: target, user: user, at: now, plain: temporary, detail: \.description
        ) {
            let dump = try store.dump()
            try store.checkSealed(dump)
            let document = try self.document(dump, at: now)
            if target == "standard output" {
                try writeToStandardOutput(document)
            } else {
                var info = stat()
                if lstat(target, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                    throw AtomicFileError(
                        description: "\(target) is not a regular file (a directory, a device, a pipe or a link); "
                            + "name a file for the export, or - for standard output; nothing was written")
                }
                try checkReplaceable(target, store: store)
                do {
                    try AtomicFile.write(String(decoding: document, as: UTF8.self), to: target, mode: 0o600)
                } catch let error as AtomicFileError {
                    throw AtomicFileError(
                        description: "cannot write the export \(target) (\(error)); check that its directory exists "
                            + "and is writable; nothing was written")
                }
            }
            return dump.summary
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
        try document.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    let reason = String(cString: strerror(errno))
                    throw AtomicFileError(
                        description: "cannot write the export to standard output (\(reason)); it is incomplete")
                }
                offset += written
            }
        }
    }

    /// The export document: one table row per line, so that a large export can be read and compared by eye.
    // FIXME: the rows and the document are both held in memory (about 90 MB for 10,000 connections with their
    // history); streaming rows to the file would bound that for the 100,000-connection fleets.
    static func document(_ dump: StoreDump, at now: Date) throws -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\n")
        let header: [(String, JSONWriter.Value)] = [
            ("format", .string(format)), ("version", .int(version)), ("schema", .int(dump.schema)),
            ("exported_at", .string(timestamp(now))), ("source", .string(dump.source)),
            ("key_check", .string(Data(dump.keyCheck).base64EncodedString())),
        ]
        for (name, value) in header {
            writer.key(name)
            writer.append(value)
            writer.raw(",\n")
        }
        writer.key("tables")
        writer.raw("{\n")
        for (index, table) in dump.tables.enumerated() {
            writer.key(table.name)
            writer.raw("[\n")
            for (position, row) in table.rows.enumerated() {
                writer.object(try row.map { ($0.column, try value($0.value, table: table.name, column: $0.column)) })
                writer.raw(position == table.rows.count - 1 ? "\n" : ",\n")
            }
            writer.raw(index == dump.tables.count - 1 ? "]\n" : "],\n")
        }
        writer.raw("}\n}\n")
        return writer.bytes
    }

    /// A column's value as JSON: null, a number, a string, or `{"base64": …}` for bytes (the sealed secrets).
    private static func value(_ value: SQLValue, table: String, column: String) throws -> JSONWriter.Value {
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
                    "cannot export \(table).\(column): it holds \(number), beyond the integers a JSON number "
                        + "carries exactly; nothing was written")
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

extension StoreDump {
    /// How many rows of each kind the dump holds.
    var summary: ExportSummary {
        ExportSummary(
            integrations: rows(of: "integrations").count, connections: rows(of: "connections").count,
            history: rows(of: "history").count, audit: rows(of: "audit").count)
    }
}
