import Foundation

/// The guard of the commands that write a file the user names (`--metrics`, `tokentop export FILE`): they replace
/// an earlier file of their own kind, never a database, a key or anything else a typo might name.
enum ReplaceableFile {
    /// Refuses to replace `path` when it exists and does not begin with `signature`, the first bytes every file
    /// of that `kind` (such as `a metrics file`) that tokentop writes begins with.
    static func check(_ path: String, signature: String, kind: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let handle = FileHandle(forReadingAtPath: path)
        let head = (try? handle?.read(upToCount: signature.utf8.count)) ?? nil
        try? handle?.close()
        guard let head, String(decoding: head, as: UTF8.self) == signature else {
            throw AtomicFileError(
                description: "refusing to replace \(path): it exists and is not \(kind) tokentop wrote; "
                    + "name a new file")
        }
    }

    /// Refuses `path` when it names one of `protected` (by its resolved path, or as the same file on disk), each
    /// with what it is: a command must never write over the store it reads, or the key that opens it.
    /// - Parameter action: what the command would do to `path`, as the message says it (`replace`, `write the log
    ///   into`).
    static func refuse(
        _ path: String, ifItIs protected: [(path: String, what: String)], action: String = "replace"
    ) throws {
        let resolved = resolve(path)
        var info = stat()
        let exists = stat(path, &info) == 0
        for (other, what) in protected {
            var otherInfo = stat()
            let same =
                resolve(other) == resolved
                || (exists && stat(other, &otherInfo) == 0 && otherInfo.st_dev == info.st_dev
                    && otherInfo.st_ino == info.st_ino)
            if same {
                throw AtomicFileError(description: "refusing to \(action) \(path): it is \(what); name a new file")
            }
        }
    }

    /// The files no command may write over: the key file, and for a database in a file, that file and the ones
    /// SQLite keeps beside it.
    /// - Parameter database: how the messages name the database (`the database being exported`).
    static func storeFiles(_ store: Store, database: String) -> [(path: String, what: String)] {
        storeFiles(database: store.database.dialect.isPostgres ? nil : store.path, named: database)
    }

    /// ``storeFiles(_:database:)`` for the database file `path` (nil for a PostgreSQL store), which may not be open.
    static func storeFiles(database path: String?, named database: String) -> [(path: String, what: String)] {
        var protected = [(path: SecretBox.keyFilePath(), what: "the key file, without which no sealed secret opens")]
        if let path {
            protected += ["", "-wal", "-shm", "-journal"].map {
                (path + $0, $0.isEmpty ? database : "a file of \(database)")
            }
        }
        return protected
    }

    /// An absolute path with `.`, `..` and the links of its folder resolved, for comparing names of files that
    /// may not exist yet.
    private static func resolve(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent)
            .path
    }
}
