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

    private static func base(_ variable: String, fallback: String, environment: [String: String]) -> String {
        if let value = environment[variable], value.hasPrefix("/") { return value }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/" + fallback
    }
}
