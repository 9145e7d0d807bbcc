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
        guard let path else { return }
        try ReplaceableFile.refuse(
            path, ifItIs: ReplaceableFile.storeFiles(store, database: "the database"), action: "write the log into")
        guard let handle = FileHandle(forReadingAtPath: path) else { return }
        let head = (try? handle.read(upToCount: 64 * 1024)) ?? nil
        try? handle.close()
        // An empty file is a new log, or one logrotate truncated.
        guard let head, !head.isEmpty else { return }
        let firstLine = head.prefix { $0 != UInt8(ascii: "\n") }
        let object = try? JSONSerialization.jsonObject(with: Data(firstLine)) as? [String: Any]
        guard let object, object["msg"] is String, object["time"] is String else {
            throw ConfigError(
                "refusing to write the log into \(path): it exists and its first line is not a line of tokentop's log; "
                    + "name a new file")
        }
    }

    private static func open(_ path: String?) throws -> Int32 {
        guard let path else { return STDERR_FILENO }
        let descriptor = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigError("cannot open the log file \(path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }
}
