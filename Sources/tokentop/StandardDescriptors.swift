import Foundation

/// Standard input, output and error as the process starts with them.
enum StandardDescriptors {
    /// Opens /dev/null on each of descriptors 0, 1 and 2 that the parent left closed (`tokentop daemon 2>&-`, a
    /// careless service manager). Otherwise the next file, socket or eventfd opened would take its number, and a
    /// log line meant for stderr would be written into it. Called first, before anything opens a file.
    static func openClosedOnes() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO]
        where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            // open() returns the lowest free number, which is this one, since those below it are open by now; dup2
            // puts it there whatever number it got.
            let opened = open("/dev/null", descriptor == STDIN_FILENO ? O_RDONLY : O_WRONLY)
            if opened >= 0, opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
        }
    }
}
