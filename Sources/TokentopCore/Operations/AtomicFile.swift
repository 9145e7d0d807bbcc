import Foundation

/// Writes a whole file so that a reader sees the old contents or the new, never half of either: a temporary file
/// in the same directory, flushed, then renamed over the target.
public enum AtomicFile {
    /// Replaces `path` with `text`; the file gets `mode` (readable by a collector running as another user).
    /// - Throws: a message naming the path and the system's reason.
    public static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        let temporary = temporaryPath(for: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        var ok = true
        text.utf8CString.withUnsafeBufferPointer { buffer in
            var offset = 0
            let total = buffer.count - 1
            while offset < total {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, total - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    ok = false
                    return
                }
                offset += written
            }
        }
        let synced = fsync(descriptor) == 0
        let reason = errno
        close(descriptor)
        guard ok, synced else {
            unlink(temporary)
            errno = reason
            throw failure("cannot write \(temporary)")
        }
        // The umask may have narrowed the mode `open` gave.
        _ = chmod(temporary, mode)
        guard rename(temporary, path) == 0 else {
            let reason = errno
            unlink(temporary)
            errno = reason
            throw failure("cannot replace \(path)")
        }
    }

    /// The temporary file ``write(_:to:mode:)`` writes before it renames it to `path`: a dot file beside it, named
    /// after it and this process.
    static func temporaryPath(for path: String) -> String {
        // The collector skips dot files, so it never reads the half-written temporary one.
        return Paths.folder(of: path) + "/.\(Paths.name(of: path)).\(getpid()).tmp"
    }

    private static func failure(_ what: String) -> AtomicFileError {
        AtomicFileError(description: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A file that could not be written whole.
public struct AtomicFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
}
