import Foundation

extension ImportFile {
    /// Reads `path`, checks it, stores it in one transaction, and records the import in the audit log.
    ///
    /// A whole-store export (`tokentop export`, its `format` says so) is restored instead, into a store that holds
    /// no connections yet; see ``Store/restore(_:user:at:)``.
    ///
    /// The file is read and checked before the database is touched, so a malformed file creates no database;
    /// when one already exists, the failed import is audited there. A file refused only against the store (it names
    /// an integration neither it nor the database holds) leaves no database or key file the import created: they
    /// are taken away again (``NewStoreFiles``), and an empty file it filled is emptied; so do a new database and key
    /// file that a full disk kept from being set up.
    /// - Parameters:
    ///   - openStore: opens the database; its argument says whether a missing one may be created.
    ///   - waiting: told what the import waits for: another process's refresh of a connection it replaces (see
    ///     ``Store/importBundle(_:at:waiting:)``).
    /// - Returns: what was added and updated.
    /// - Throws: ``ImportError`` for a file that cannot be read or is malformed (nothing is stored), or
    ///   ``StoreError``.
    public static func run(
        path: String, openStore: (_ create: Bool) throws -> Store, user: String, at now: Date,
        waiting: (String) -> Void = { _ in }
    ) throws -> ImportSummary {
        let bundle: ImportBundle
        let export: StoreDump?
        // What errors, the history and the audit log name the input by: `-` is not a name a user reads.
        let source = displayName(path)
        do {
            switch try StoreExport.read(try read(path), source: source, at: now) {
            case .export(let dump):
                export = dump
                bundle = ImportBundle(source: source)
            case .other(let root):
                export = nil
                bundle = try parse(root, source: source)
            }
        } catch {
            if let store = try? openStore(false) {
                _ = try? store.appendAudit(
                    action: .import, target: source, outcome: "failed", detail: "\(error)", user: user, at: now)
            }
            throw error
        }
        if let export { return try restore(export, source: source, openStore: openStore, user: user, at: now) }
        return try removingNewFiles { made in
            let store = try openStore(true)
            do {
                return try store.audited(.import, target: source, user: user, at: now, detail: \.description) {
                    try store.importBundle(bundle, at: now, waiting: waiting)
                }
            } catch {
                // Only while the store holds nothing: one that was filled since it was created stays as it is.
                if (try? store.holdsNothing()) == true { made = store.newFiles }
                throw error
            }
        }
    }

    /// Runs `attempt`, which says in `made` what opening its store made; when it throws, that goes again.
    private static func removingNewFiles<T>(_ attempt: (_ made: inout NewStoreFiles) throws -> T) throws -> T {
        var made = NewStoreFiles()
        do {
            return try attempt(&made)
        } catch {
            // The store is closed once `attempt` returns; what its opening made goes with it, and what an opening
            // that failed on a full disk made (its handle is gone with it).
            made.remove()
            (error as? StoreError)?.leftBehind?.remove()
            throw error
        }
    }

    /// Restores a whole-store export; a store (and key file) this call created is taken away again when the restore
    /// fails, and an empty file it filled is emptied, so that nothing is left behind.
    private static func restore(
        _ export: StoreDump, source: String, openStore: (_ create: Bool) throws -> Store, user: String, at now: Date
    ) throws -> ImportSummary {
        try removingNewFiles { made in
            let store: Store
            do {
                store = try openStore(false)
            } catch let error as StoreError where error.code == .cannotOpen {
                store = try openStore(true)
                made = store.newFiles
            } catch let error as StoreError
                where error.code == .notADatabase && error.path.map(SQLiteDatabase.isEmptyFile) == true
            {
                // Empty is what an import into a new store needs; the ordinary import takes such a file too.
                store = try openStore(true)
                made = store.newFiles
            }
            do {
                return ImportSummary(wholeStore: try store.restore(export, user: user, at: now))
            } catch {
                if made.created == nil {
                    // Not a second busy timeout for an entry that would meet the same lock (see `Store.audited`).
                    _ = try? store.appendAudit(
                        action: .import, target: source, outcome: "failed", detail: "\(error)", user: user, at: now,
                        briefly: (error as? StoreError)?.code == .busy)
                }
                throw error
            }
        }
    }

    /// The most bytes an import file may hold: far more than any file written by hand or by a script, and little
    /// enough that parsing it stays within a few hundred MiB of memory.
    public static let maximumFileBytes = 64 << 20
    /// The most bytes a whole-store export may hold: 100,000 connections with their history export to about 150 MiB.
    public static let maximumExportBytes = 1 << 30

    /// The bytes of `path` (`-` is standard input, so that secrets need never sit in a file), refusing a file larger
    /// than ``maximumFileBytes`` (``maximumExportBytes`` for one that starts like an export) without reading it all.
    static func read(_ path: String) throws -> [UInt8] {
        let cannotRead = { ImportError(file: displayName(path), problem: "cannot read the file: \(readProblem(path))") }
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw cannotRead() }
        defer { if path != "-" { close(descriptor) } }
        var status = stat()
        // A device or a socket is no file to import (and /dev/zero would never end); a pipe is: `<(…)` and stdin.
        if path != "-", fstat(descriptor, &status) != 0 || ![S_IFREG, S_IFIFO].contains(status.st_mode & S_IFMT) {
            throw cannotRead()
        }
        var data: [UInt8] = []
        // A file's size is known: one buffer of that size, not a growing one copied as it grows.
        if path != "-", status.st_mode & S_IFMT == S_IFREG {
            data.reserveCapacity(min(Int(status.st_size), maximumExportBytes) + 1)
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        func fill(upTo limit: Int) throws {
            while data.count <= limit {
                let wanted = min(chunk.count, limit + 1 - data.count)
                let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, wanted) }
                if count == 0 { return }
                guard count > 0 else {
                    if errno == EINTR { continue }
                    throw cannotRead()
                }
                data.append(contentsOf: chunk[..<count])
            }
        }
        try fill(upTo: maximumFileBytes)
        let export = StoreExport.looksLikeExport(data)
        if export { try fill(upTo: maximumExportBytes) }
        let limit = export ? maximumExportBytes : maximumFileBytes
        guard data.count <= limit else {
            let source = path == "-" ? "it holds" : "the file is"
            let what = export ? "a whole-store export" : "an import file"
            throw ImportError(
                file: displayName(path),
                problem: "\(source) more than the \(limit >> 20) MiB \(what) may be; nothing was imported")
        }
        return data
    }

    /// `path` as messages name it: `standard input` for `-`.
    public static func displayName(_ path: String) -> String { path == "-" ? "standard input" : path }

    private static func readProblem(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        if !FileManager.default.isReadableFile(atPath: path) { return "permission denied" }
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let type = (try? FileManager.default.attributesOfItem(atPath: target))?[.type] as? FileAttributeType
        let kinds: [FileAttributeType: String] = [
            .typeCharacterSpecial: "a character device", .typeBlockSpecial: "a block device", .typeSocket: "a socket",
        ]
        if let type, let kind = kinds[type] {
            return "it is \(kind), not a regular file; give a JSON file, or - to read standard input"
        }
        return "it could not be read"
    }
}
