import Foundation

/// Writes a whole file so that a reader sees the old contents or the new, never half of either: a temporary file
/// in the same directory, filled, flushed, then renamed over the target.
public enum AtomicFile {
    /// Replaces `path` with `text`; the file gets `mode` (readable by a collector running as another user).
    /// - Throws: a message naming the path and the system's reason.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try write(to: path, mode: mode) { try $0.write(Array(text.utf8)) }
    }

    /// Replaces `path` with what `body` writes to the output it is handed, a block at a time, so that a large file
    /// is never held whole: the blocks go to the temporary file, which is flushed and renamed over `path` once `body`
    /// returns. When `body` throws, the temporary file is removed and `path` is left as it was.
    /// - Throws: what `body` throws, or a message naming the path and the system's reason.
    static func write(to path: String, mode: mode_t = 0o644, _ body: (Output) throws -> Void) throws {
        removeLeftovers(of: path)
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        do {
            try body(Output(descriptor: descriptor, temporary: temporary))
            guard fsync(descriptor) == 0 else { throw failure("cannot write \(temporary)") }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        // The umask may have narrowed the mode `open` gave.
        _ = chmod(temporary, mode)
        guard rename(temporary, path) == 0 else {
            let reason = errno
            unlink(temporary)
            errno = reason
            throw failure("cannot replace \(path)")
        }
    }

    /// The temporary file a ``write(to:mode:_:)`` fills.
    struct Output {
        fileprivate let descriptor: Int32
        fileprivate let temporary: String

        /// Appends `bytes` to the file, all of them, or throws.
        func write(_ bytes: [UInt8]) throws {
            if let code = AtomicFile.writeAll(bytes, to: descriptor) {
                errno = code
                throw AtomicFile.failure("cannot write \(temporary)")
            }
        }
    }

    /// The temporary file ``write(to:mode:_:)`` writes before it renames it to `path`: a dot file beside it, named
    /// after it and this process.
    static func temporaryPath(for path: String) -> String {
        // The collector skips dot files, so it never reads the half-written temporary one.
        return Paths.folder(of: path) + "/.\(Paths.name(of: path)).\(getpid()).tmp"
    }

    /// Removes the temporary files of earlier writes of `path` whose process is gone (killed before its rename): they
    /// held a whole export, sealed but kept, and each killed export left one more. A live process's stays.
    static func removeLeftovers(of path: String) {
        let directory = Paths.folder(of: path)
        let prefix = ".\(Paths.name(of: path))."
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let middle = name.dropFirst(prefix.count).dropLast(".tmp".count)
            guard let pid = pid_t(middle), pid > 0, pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            unlink(directory + "/" + name)
        }
    }

    /// Writes all of `bytes` to `descriptor`, again where a write was interrupted or short.
    /// - Returns: nil once all are written, else the `errno` of the write that failed.
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Int32? {
        bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
    }

    fileprivate static func failure(_ what: String) -> AtomicFileError {
        AtomicFileError(description: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A file that could not be written whole.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
