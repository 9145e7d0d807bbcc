import Foundation
import TokentopCore

/// The executable's two ways to speak: results on stdout, one-line errors on stderr; both with control characters
/// made harmless, since much of the text comes from providers and import files.
enum Output {
    static func out(_ text: String) {
        print(SafeText.lines(text))
    }

    /// Writes `tokentop: MESSAGE` on stderr.
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("tokentop: \(SafeText.lines(message))\n".utf8))
    }

    /// Flushes stdout; a full disk or a closed pipe is an error, not a silent success.
    static func finish(_ status: Int32) -> Int32 {
        // A part of a long output that failed earlier is seen here too: glibc keeps the unwritten bytes in the
        // buffer after a failed write, so this last flush tries them again and fails the same way (a test holds it).
        guard fflush(nil) == 0 else {
            error("cannot write the output: \(String(cString: strerror(errno)))")
            return 1
        }
        return status
    }
}
