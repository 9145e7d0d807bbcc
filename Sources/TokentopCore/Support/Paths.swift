import Foundation

/// Where tokentop keeps its files, following the XDG base directory convention.
public enum Paths {
    /// `$XDG_DATA_HOME/tokentop/tokentop.sqlite3`, or `~/.local/share/tokentop/tokentop.sqlite3`.
    public static func defaultDatabase(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        base("XDG_DATA_HOME", fallback: ".local/share", environment: environment) + "/tokentop/tokentop.sqlite3"
    }

    /// `$XDG_CONFIG_HOME/tokentop`, or `~/.config/tokentop`.
    public static func configDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        base("XDG_CONFIG_HOME", fallback: ".config", environment: environment) + "/tokentop"
    }

    /// The directory part of `path`, as `dirname` gives it but "" for a bare name: Foundation's
    /// `deletingLastPathComponent` traps on Linux for some short paths (`a`, `.`, `a//`).
    public static func directory(of path: String) -> String { split(path).directory }

    /// The directory `path` is in, `.` for a bare name: where to look for it or beside it.
    public static func folder(of path: String) -> String {
        let directory = directory(of: path)
        return directory.isEmpty ? "." : directory
    }

    /// The last part of `path`, trailing slashes left out, as `basename` gives it (see ``directory(of:)``).
    public static func name(of path: String) -> String { split(path).name }

    private static func split(_ path: String) -> (directory: String, name: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed == "/" { return ("/", "/") }
        guard let slash = trimmed.lastIndex(of: "/") else { return ("", String(trimmed)) }
        var directory = trimmed[..<slash]
        while directory.count > 1, directory.hasSuffix("/") { directory.removeLast() }
        return (directory.isEmpty ? "/" : String(directory), String(trimmed[trimmed.index(after: slash)...]))
    }

    private static func base(_ variable: String, fallback: String, environment: [String: String]) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        return home(environment: environment) + "/" + fallback
    }

    /// `HOME` when it is an absolute path, else the account's home directory: an empty or relative `HOME` (`HOME=`
    /// in a service's unit) put the store at `/.local/share/…` or under whatever directory tokentop started in.
    static func home(environment: [String: String]) -> String {
        if let home = environment["HOME"], home.hasPrefix("/") { return home }
        if let account = getpwuid(getuid()), let directory = account.pointee.pw_dir {
            let home = String(cString: directory)
            if home.hasPrefix("/") { return home }
        }
        return NSHomeDirectory()
    }
}
