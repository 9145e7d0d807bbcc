import Foundation
import TokentopCore

/// The executable's two ways to speak: results on stdout, one-line errors on stderr; both with control characters
/// made harmless, since much of the text comes from providers and import files.
enum Output {
    static func out(_ text: String) {
        print(SafeText.lines(text))
    }

    /// Writes a piece of a longer output, as it is made: `text` without a line break after it.
    static func outPiece(_ text: String) {
        print(SafeText.lines(text), terminator: "")
    }

    /// Writes `tokentop: MESSAGE` on stderr; a terminal that is gone (EIO) or a closed pipe loses the message, and
    /// nothing else: FileHandle's write stops the process on such an error, before its cleanup.
    static func error(_ message: String) {
        var bytes = Array("tokentop: \(SafeText.lines(message))\n".utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    /// Flushes stdout; a full disk or a closed pipe is an error, not a silent success.
    /// - Parameter unwritten: the exit status when the output could not be written (`status` says UNKNOWN, 3).
    static func finish(_ status: Int32, unwritten: Int32 = 1) -> Int32 {
        // A part of a long output that failed earlier is seen here too: glibc keeps the unwritten bytes in the
        // buffer after a failed write, so this last flush tries them again and fails the same way (a test holds it).
        guard fflush(nil) == 0 else {
            error("cannot write the output: \(String(cString: strerror(errno)))")
            return unwritten
        }
        return status
    }
}
