import Foundation

/// Reads the configuration file: one JSON object whose keys are ``Settings/names``, as documented in
/// `docs/configuration.md`.
public enum ConfigFile {
    /// `$XDG_CONFIG_HOME/tokentop/config.json`.
    public static func defaultPath(environment: [String: String]) -> String {
        Paths.configDirectory(environment: environment) + "/config.json"
    }

    /// Reads the file at `path`; a missing file is no settings, not an error, unless `required`.
    /// - Parameter namedBy: where the path came from when the user did not type it (`TOKENTOP_CONFIG`), so that
    ///   a file that cannot be read is traced to it.
    /// - Throws: ``ConfigError`` naming the file, the key and what is wrong.
    public static func load(path: String, required: Bool = false, namedBy: String? = nil) throws -> Settings {
        let origin = namedBy.map { " (named by \($0))" } ?? ""
        var info = stat()
        guard stat(path, &info) == 0 else {
            // The default file in a directory this user may not look into (another user's home, a read-only
            // session) is as good as absent; a file the user named is not.
            guard required else { return Settings() }
            if errno == ENOENT { throw ConfigError("\(path): no such file\(origin)") }
            throw ConfigError("\(path): cannot be read (\(String(cString: strerror(errno))))\(origin)")
        }
        // A pipe or a device would be read until it ends, which a FIFO nobody writes to never does.
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw ConfigError("\(path): cannot be read (it is a directory)\(origin)")
        default:
            throw ConfigError(
                "\(path): is not a regular file (a device, a pipe or a socket); name a JSON file\(origin)")
        }
        guard info.st_size <= maximumBytes else { throw tooLarge(path, origin) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigError("\(path): cannot be read (permission denied)\(origin)")
        }
        defer { try? handle.close() }
        // At most one byte past the limit, however the file grew since it was looked at.
        guard let data = try? handle.read(upToCount: maximumBytes + 1) ?? Data() else {
            throw ConfigError("\(path): cannot be read\(origin)")
        }
        guard data.count <= maximumBytes else { throw tooLarge(path, origin) }
        return try parse(data, source: path)
    }

    /// The most bytes a configuration file may hold: a few hundred bytes is typical, and a daemon reads the file
    /// again on every SIGHUP, so a file that grew by mistake (a log written into it) is refused, not parsed.
    public static let maximumBytes = 1 << 20

    private static func tooLarge(_ path: String, _ origin: String) -> ConfigError {
        ConfigError(
            "\(path): is larger than \(maximumBytes >> 20) MiB, which no configuration file is; name the JSON file "
                + "of settings\(origin)")
    }

    /// Parses a configuration document.
    public static func parse(_ data: Data, source: String) throws -> Settings {
        do {
            return try read(data, source: source)
        } catch let error as ImportError {
            // The import file's reader serves here too; only its wording of the place differs.
            throw ConfigError(error.description)
        }
    }

    private static func read(_ data: Data, source: String) throws -> Settings {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch {
            throw ConfigError("\(source): not valid JSON: line \(error.line), column \(error.column): \(error.problem)")
        }
        guard case .object(let object) = root else {
            throw ConfigError("\(source): expected a JSON object of settings, found \(root.kindName)")
        }
        let reader = ImportFieldReader(object: object, file: source, entry: nil)
        try reader.rejectUnknownKeys(Settings.names)
        var settings = Settings()
        if let lead = try reader.number("lead_seconds") {
            guard lead >= 10, lead <= 86_400 else {
                throw reader.fail("lead_seconds", "expected seconds from 10 to 86400 (one day)")
            }
            settings.leadSeconds = lead
        }
        if let concurrency = try reader.number("concurrency") {
            guard concurrency == concurrency.rounded(), concurrency >= 1, concurrency <= 1024 else {
                throw reader.fail("concurrency", "expected a whole number from 1 to 1024")
            }
            settings.concurrency = Int(concurrency)
        }
        settings.theme = try reader.string("theme")
        if let theme = settings.theme, let problem = Settings.themeNameProblem(theme) {
            throw reader.fail("theme", problem)
        }
        settings.themesDirectory = try nonEmpty(
            "themes_dir", reader, "name the folder of theme files, or leave themes_dir out for the shipped themes")
        if let value = reader.value("readonly") {
            guard case .bool(let flag) = value else {
                throw reader.fail("readonly", "expected true or false, found \(value.kindName)")
            }
            settings.readOnly = flag
        }
        // "-" is standard error for the log, as `--log -` is; the metrics file is replaced whole, so it is a file.
        settings.logFile = try nonEmpty(
            "log_file", reader, "name the daemon's log file, or leave log_file out to log to standard error")
            .flatMap { $0 == "-" ? nil : $0 }
        settings.metricsFile = try nonEmpty(
            "metrics_file", reader, "name the file for the textfile collector, or leave metrics_file out")
        if settings.metricsFile == "-" {
            throw reader.fail("metrics_file", "needs a file, which is replaced whole every 5 seconds, not -")
        }
        settings.onEvent = try nonEmpty(
            "on_event", reader, "give the command to run for each event, or leave on_event out")
        if let timeout = try reader.number("on_event_timeout_seconds") {
            guard Settings.onEventTimeoutRange.contains(timeout) else {
                throw reader.fail("on_event_timeout_seconds", "expected seconds from 0.1 to 600")
            }
            settings.onEventTimeout = timeout
        }
        if let days = try reader.number("history_days") {
            guard Settings.historyDaysRange.contains(days), days == days.rounded() else {
                // 1e-07 would keep history for a hundredth of a second: a count of days is whole.
                let value = days == days.rounded() && abs(days) < 1e15 ? "\(Int(days))" : "\(days)"
                throw reader.fail(
                    "history_days", "expected a whole number of days from 0 (keep every entry) to 36500, not \(value)")
            }
            settings.historyDays = days
        }
        settings.caFile = try nonEmpty(
            "ca_file", reader, "name a PEM file of certificate authorities, or leave ca_file out for the system's")
            .flatMap { $0 == "-" ? nil : $0 }
        if let value = reader.value("keys") {
            settings.keys = try keys(value, reader: reader)
        }
        return settings
    }

    /// A file, folder or command: an empty one names nothing, so it is refused here, as its flag refuses it, rather
    /// than failing later (`cannot replace : No such file`) in words that name neither this file nor the key. One
    /// of only blanks names nothing a person meant either (a log file named " ", a command that does nothing).
    private static func nonEmpty(_ key: String, _ reader: ImportFieldReader, _ hint: String) throws -> String? {
        guard let text = try reader.string(key) else { return nil }
        guard !text.isEmpty else { throw reader.fail(key, "must not be empty; \(hint)") }
        guard !text.allSatisfy(\.isWhitespace) else { throw reader.fail(key, "must not be only blanks; \(hint)") }
        return text
    }

    private static func keys(_ value: JSONValue, reader: ImportFieldReader) throws -> [String: String] {
        guard case .object(let object) = value else {
            throw reader.fail("keys", "expected an object such as {\"refresh\": \"R\"}, found \(value.kindName)")
        }
        var keys: [String: String] = [:]
        var owner: [String: String] = [:]
        for action in object.keys {
            guard Settings.bindableActions.contains(action) else {
                throw reader.fail(
                    "keys.\(action)",
                    "unknown action; actions are " + Settings.bindableActions.joined(separator: ", "))
            }
            // Counted in scalars: "a" followed by a combining accent is one Character but no key anyone can press.
            guard case .string(let key) = object[action], key.unicodeScalars.count == 1,
                let scalar = key.unicodeScalars.first,
                scalar.value > 0x20, scalar.value < 0x7f
            else {
                throw reader.fail(
                    "keys.\(action)", "expected one printable ASCII character other than a space, such as \"R\"")
            }
            if let other = owner[key] {
                throw reader.fail("keys.\(action)", "\"\(key)\" is already the key of \(other)")
            }
            owner[key] = action
            keys[action] = key
        }
        // A key another action keeps by default is taken only when that action is given another key too: the
        // dashboard would refuse the table otherwise, without naming this file.
        for (action, key) in keys.sorted(by: { $0.key < $1.key }) {
            if let other = Settings.standardKeys[key], other != action, keys[other] == nil {
                let movable = Settings.bindableActions.contains(other) ? ", or give \(other) another key too" : ""
                throw reader.fail(
                    "keys.\(action)", "\"\(key)\" is already the key of \(other); choose another character\(movable)")
            }
        }
        return keys
    }
}

/// A configuration file that cannot be used, with a message naming the file, the setting and the problem.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public var description: String

    /// Creates an error with its whole message.
    public init(_ description: String) {
        self.description = description
    }
}
