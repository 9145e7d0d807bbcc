import Foundation
import Synchronization

/// The daemon's log: one JSON object per line, a constant `msg` and data in fields, to standard error or a file
/// that ``reopen(path:)`` opens again after logrotate moved it.
public final class JSONLinesLog: Sendable {
    private let descriptor: Mutex<Int32>

    /// Logs to `path` (appending; created with mode 0600), or to standard error when nil.
    /// - Throws: a message naming the file when it cannot be opened.
    public init(path: String?) throws {
        descriptor = Mutex(try Self.open(path))
    }

    /// Opens `path` again (or switches to standard error); on failure the old destination stays.
    public func reopen(path: String?) throws {
        let fresh = try Self.open(path)
        let old = descriptor.withLock { current -> Int32 in
            defer { current = fresh }
            return current
        }
        if old != STDERR_FILENO { close(old) }
    }

    /// Writes one line: `time`, `msg` and the fields, keys sorted.
    public func write(_ message: String, _ fields: [String: Any]) {
        var object = fields
        object["time"] = RFC3339.string(from: Date())
        object["msg"] = message
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        data.append(UInt8(ascii: "\n"))
        descriptor.withLock { descriptor in
            data.withUnsafeBytes { buffer in
                // One write per line: with O_APPEND, lines from several processes never interleave mid-line.
                _ = Glibc.write(descriptor, buffer.baseAddress, buffer.count)
            }
        }
    }

    /// Refuses a log file that is the key file or a file of `store`'s database, by any name (links and `..`
    /// resolved), or an existing file that does not start with a line of this log: appending lines would
    /// destroy the key, the store, or a file (a config file, an import file) that a typo named.
    /// - Throws: a message naming the file and what it is.
    public static func check(_ path: String?, store: Store) throws {
        try check(path, protected: ReplaceableFile.storeFiles(store, database: "the database"))
    }

    /// ``check(_:store:)`` without opening the store, for `tokentop config`: `database` is the store's file, or nil
    /// for a PostgreSQL store.
    public static func check(_ path: String?, database: String?) throws {
        try check(path, protected: ReplaceableFile.storeFiles(database: database, named: "the database"))
    }

    private static func check(_ path: String?, protected: [(path: String, what: String)]) throws {
        guard let path else { return }
        try ReplaceableFile.refuse(path, ifItIs: protected, action: "write the log into")
        // What opening it would meet, said before anything is created: a directory, a missing or closed folder.
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { throw cannotOpen(path, EISDIR) }
        } else if errno == ENOENT, access(Paths.folder(of: path), W_OK | X_OK) != 0 {
            throw cannotOpen(path, errno)
        }
        // A terminal, a pipe or /dev/null is a stream to write to, never read back; only a file is looked at.
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
            let handle = FileHandle(forReadingAtPath: path)
        else { return }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 64 * 1024)) ?? nil
        // An empty file is a new log, or one logrotate truncated.
        guard let head, !head.isEmpty else { return }
        // Its first line and its last whole one: another program's file that begins like ours still ends unlike it.
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 64 * 1024 ? size - 64 * 1024 : 0)
        let tail = ((try? handle.readToEnd()) ?? nil) ?? head
        let lines = tail.split(separator: UInt8(ascii: "\n"))
        // A last line without its newline was cut short (a daemon killed mid-write); the one before it counts.
        let lastWhole = tail.last == UInt8(ascii: "\n") ? lines.last : lines.dropLast().last
        for line in [head.prefix { $0 != UInt8(ascii: "\n") }, lastWhole ?? head.prefix(0)] where !line.isEmpty {
            let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
            guard let object, object["msg"] is String, object["time"] is String else {
                throw ConfigError(
                    "refusing to write the log into \(path): it exists and is not a log of tokentop's (its lines "
                        + "are not all tokentop's JSON); name a new file")
            }
        }
    }

    private static func cannotOpen(_ path: String, _ code: Int32) -> ConfigError {
        ConfigError("cannot open the log file \(path): \(String(cString: strerror(code)))")
    }

    private static func open(_ path: String?) throws -> Int32 {
        guard let path else { return STDERR_FILENO }
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw cannotOpen(path, errno) }
        // A file whose last line was cut short (a daemon killed mid-write) gets its newline first, so that the next
        // line starts on its own; a terminal or a pipe is never read.
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0,
            let reader = FileHandle(forReadingAtPath: path)
        {
            try? reader.seek(toOffset: UInt64(info.st_size - 1))
            if let last = try? reader.read(upToCount: 1), last != Data("\n".utf8) {
                var newline = UInt8(ascii: "\n")
                _ = Glibc.write(descriptor, &newline, 1)
            }
            try? reader.close()
        }
        return descriptor
    }
}
