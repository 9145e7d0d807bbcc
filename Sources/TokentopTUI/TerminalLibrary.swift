import CNcurses

/// The version of the ncurses library linked in, such as `ncurses 6.4.20221231`, for `tokentop --version`.
public func terminalLibraryVersion() -> String {
    curses_version().map { String(cString: $0) } ?? "ncurses (unknown version)"
}
