import Foundation

/// The settings in force, and where each came from: a flag, the configuration file, or the built-in default.
public struct EffectiveConfiguration: Sendable, Equatable {
    /// Where a setting's value came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case builtIn
        case file(String)
        case flag(String)

        public var description: String {
            switch self {
            case .builtIn: "default"
            case .file(let path): "file \(path)"
            case .flag(let flag): "flag \(flag)"
            }
        }
    }

    /// One line of `tokentop config`.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// The value as the file would spell it; `-` for none.
        public var value: String
        public var source: Source
    }

    /// The values in force; a nil member has no default and was not set.
    public var settings: Settings
    /// Every setting, in ``Settings/names`` order.
    public var entries: [Entry]

    /// The built-in defaults: the standard refresh policy, the default theme, read-write.
    public static let defaults: Settings = {
        var settings = Settings()
        settings.leadSeconds = RefreshPolicy.standard.minimumLead
        settings.concurrency = RefreshPolicy.standard.concurrency
        settings.theme = "default"
        settings.readOnly = false
        settings.onEventTimeout = 10
        settings.historyDays = RefreshPolicy.standard.historyRetention.map { $0 / 86_400 } ?? 0
        settings.keys = [:]
        return settings
    }()

    /// Layers `defaults`, then the file's settings, then the flags'.
    /// - Parameters:
    ///   - file: the configuration file's settings and its path.
    ///   - flags: settings given on the command line, with the flag that set each (by setting name).
    public init(
        defaults: Settings = Self.defaults, file: (Settings, String)?, flags: Settings, flagNames: [String: String]
    ) {
        var settings = defaults
        var sources: [String: Source] = [:]
        func layer(_ layer: Settings, named: Set<String> = [], _ source: (String) -> Source) {
            for name in Settings.names {
                let key = Self.path(name)
                if Self.isSet(layer, key) || named.contains(name) {
                    Self.copy(key, from: layer, to: &settings)
                    sources[name] = source(name)
                }
            }
        }
        if let (fileSettings, path) = file { layer(fileSettings) { _ in .file(path) } }
        // A flag given wins even when it says "none" (`--log -`: standard error, over the file's log_file).
        layer(flags, named: Set(flagNames.keys)) { .flag(flagNames[$0] ?? $0) }
        self.settings = settings
        entries = Settings.names.map { name in
            Entry(name: name, value: Self.text(settings, Self.path(name)), source: sources[name] ?? .builtIn)
        }
    }

    /// `tokentop config`: one setting per line, its value, and where it came from.
    public func report() -> String {
        let width = entries.map(\.name.count).max() ?? 0
        let valueWidth = min(40, entries.map(\.value.count).max() ?? 0)
        return entries.map { entry in
            let name = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let value =
                entry.value.count >= valueWidth
                ? entry.value : entry.value.padding(toLength: valueWidth, withPad: " ", startingAt: 0)
            return "\(name)  \(value)  (\(entry.source))"
        }.joined(separator: "\n")
    }

    /// The refresh policy `base` with the lead window, concurrency and history retention in force.
    public func policy(base: RefreshPolicy) -> RefreshPolicy {
        settings.applied(to: base)
    }

    // MARK: - One setting at a time

    private enum Key {
        case lead, concurrency, theme, themes, readOnly, log, metrics, onEvent, onEventTimeout, historyDays, caFile
        case keys
    }

    private static func path(_ name: String) -> Key {
        switch name {
        case "lead_seconds": .lead
        case "concurrency": .concurrency
        case "theme": .theme
        case "themes_dir": .themes
        case "readonly": .readOnly
        case "log_file": .log
        case "metrics_file": .metrics
        case "on_event": .onEvent
        case "on_event_timeout_seconds": .onEventTimeout
        case "history_days": .historyDays
        case "ca_file": .caFile
        default: .keys
        }
    }

    private static func isSet(_ settings: Settings, _ key: Key) -> Bool {
        text(settings, key) != "-"
    }

    private static func copy(_ key: Key, from source: Settings, to target: inout Settings) {
        switch key {
        case .lead: target.leadSeconds = source.leadSeconds
        case .concurrency: target.concurrency = source.concurrency
        case .theme: target.theme = source.theme
        case .themes: target.themesDirectory = source.themesDirectory
        case .readOnly: target.readOnly = source.readOnly
        case .log: target.logFile = source.logFile
        case .metrics: target.metricsFile = source.metricsFile
        case .onEvent: target.onEvent = source.onEvent
        case .onEventTimeout: target.onEventTimeout = source.onEventTimeout
        case .historyDays: target.historyDays = source.historyDays
        case .caFile: target.caFile = source.caFile
        case .keys: target.keys = source.keys
        }
    }

    private static func text(_ settings: Settings, _ key: Key) -> String {
        func number(_ value: Double?) -> String {
            guard let value else { return "-" }
            return value == value.rounded() ? String(Int(value)) : String(value)
        }
        switch key {
        case .lead: return number(settings.leadSeconds)
        case .concurrency: return settings.concurrency.map(String.init) ?? "-"
        case .theme: return settings.theme ?? "-"
        case .themes: return settings.themesDirectory ?? "-"
        case .readOnly: return settings.readOnly.map { $0 ? "true" : "false" } ?? "-"
        case .log: return settings.logFile ?? "-"
        case .metrics: return settings.metricsFile ?? "-"
        case .onEvent: return settings.onEvent ?? "-"
        case .onEventTimeout: return number(settings.onEventTimeout)
        case .historyDays: return number(settings.historyDays)
        case .caFile: return settings.caFile ?? "-"
        case .keys:
            guard let keys = settings.keys else { return "-" }
            return "{" + keys.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}
