import Glibc

/// Holds what the process writes to standard error while curses owns the screen, and replays it afterwards.
///
/// A log line written to the terminal in the middle of a frame would scramble it; htop does the same.
final class StderrHold {
    private var savedDescriptor: Int32 = -1
    private var file: UnsafeMutablePointer<FILE>?

    init() {
        guard let file = tmpfile() else { return }
        let saved = dup(STDERR_FILENO)
        guard saved >= 0, dup2(fileno(file), STDERR_FILENO) >= 0 else {
            if saved >= 0 { Glibc.close(saved) }
            fclose(file)
            return
        }
        self.file = file
        savedDescriptor = saved
    }

    /// Restores standard error and writes to it what was held; safe to call more than once.
    func release() {
        guard let file, savedDescriptor >= 0 else { return }
        dup2(savedDescriptor, STDERR_FILENO)
        Glibc.close(savedDescriptor)
        savedDescriptor = -1
        let descriptor = fileno(file)
        lseek(descriptor, 0, SEEK_SET)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes {
                    write(STDERR_FILENO, $0.baseAddress! + written, count - written)
                }
                guard result > 0 else { break }
                written += result
            }
        }
        fclose(file)
        self.file = nil
    }

    deinit { release() }
}
