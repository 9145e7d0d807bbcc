import Foundation
import Testing

@testable import TokentopCore

@Suite struct ConfigurationTests {
    static func parse(_ text: String) throws -> Settings {
        try ConfigFile.parse(Data(text.utf8), source: "config.json")
    }

    static func failure(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    @Test func everySettingReads() throws {
        let settings = try Self.parse(
            """
            {"lead_seconds": 120, "concurrency": 4, "theme": "light", "themes_dir": "/opt/themes",
             "readonly": true, "log_file": "/var/log/tt.log", "metrics_file": "/var/lib/node/tt.prom",
             "on_event": "logger -t tokentop", "on_event_timeout_seconds": 2.5, "history_days": 30,
             "ca_file": "/etc/tokentop/ca.pem", "keys": {"refresh": "R"}}
            """)
        #expect(settings.leadSeconds == 120)
        #expect(settings.concurrency == 4)
        #expect(settings.theme == "light")
        #expect(settings.themesDirectory == "/opt/themes")
        #expect(settings.readOnly == true)
        #expect(settings.logFile == "/var/log/tt.log")
        #expect(settings.metricsFile == "/var/lib/node/tt.prom")
        #expect(settings.onEvent == "logger -t tokentop")
        #expect(settings.onEventTimeout == 2.5)
        #expect(settings.historyDays == 30)
        #expect(settings.caFile == "/etc/tokentop/ca.pem")
        #expect(settings.keys == ["refresh": "R"])
    }

    static let wholeDays = "expected a whole number of days from 0 (keep every entry) to 36500"

    @Test(arguments: [
        ("{\"lead\": 5}", "config.json: lead: unknown key; valid keys are lead_seconds, concurrency"),
        ("{\"them\": 5}", "config.json: them: unknown key; did you mean \"theme\"?"),
        ("{\"lead_seconds\": 5}", "config.json: lead_seconds: expected seconds from 10 to 86400 (one day)"),
        ("{\"concurrency\": 2.5}", "config.json: concurrency: expected a whole number from 1 to 1024"),
        ("{\"readonly\": \"yes\"}", "config.json: readonly: expected true or false, found a string"),
        ("{\"keys\": {\"refesh\": \"R\"}}", "config.json: keys.refesh: unknown action; actions are refresh, revoke"),
        ("{\"keys\": {\"refresh\": \"RR\"}}", "config.json: keys.refresh: expected one printable ASCII character"),
        (
            "{\"keys\": {\"refresh\": \" \"}}",
            "config.json: keys.refresh: expected one printable ASCII character other than a space"
        ),
        (
            "{\"keys\": {\"refresh\": \"R\", \"revoke\": \"R\"}}",
            "config.json: keys.revoke: \"R\" is already the key of refresh"
        ),
        (
            "{\"keys\": {\"sort\": \"/\"}}",
            "config.json: keys.sort: \"/\" is already the key of filter; choose another character, or give filter "
                + "another key too"
        ),
        (
            "{\"keys\": {\"refresh\": \"j\"}}",
            "config.json: keys.refresh: \"j\" is already the key of cursor down; choose another character"
        ),
        ("{\"on_event_timeout_seconds\": 0.01}", "config.json: on_event_timeout_seconds: expected seconds from 0.1"),
        ("{\"on_event_timeout_seconds\": 601}", "config.json: on_event_timeout_seconds: expected seconds from 0.1"),
        ("{\"history_days\": -1}", "config.json: history_days: \(Self.wholeDays), not -1"),
        ("{\"history_days\": 1e6}", "config.json: history_days: \(Self.wholeDays), not 1000000"),
        ("{\"history_days\": 1e-07}", "config.json: history_days: \(Self.wholeDays), not 1e-07"),
        ("{\"history_days\": 1e-320}", "config.json: history_days: \(Self.wholeDays), not 1e-320"),
        ("{\"history_days\": 16.5}", "config.json: history_days: \(Self.wholeDays), not 16.5"),
        ("{\"history_days\": \"90\"}", "config.json: history_days: expected a number, found a string"),
        ("{\"themes_dir\": \"\"}", "config.json: themes_dir: must not be empty; name the folder of theme files"),
        ("{\"log_file\": \"\"}", "config.json: log_file: must not be empty; name the daemon's log file"),
        ("{\"metrics_file\": \"\"}", "config.json: metrics_file: must not be empty; name the file for the"),
        ("{\"on_event\": \"\"}", "config.json: on_event: must not be empty; give the command to run"),
        ("{\"theme\": \"\"}", "config.json: theme: a theme name is a file name without '/' or '.theme'"),
        ("{\"theme\": \"  \"}", "config.json: theme: a theme name is a file name without '/' or '.theme'"),
        ("{\"themes_dir\": \" \"}", "config.json: themes_dir: must not be only blanks; name the folder of theme"),
        ("{\"log_file\": \" \"}", "config.json: log_file: must not be only blanks; name the daemon's log file"),
        ("{\"metrics_file\": \"    \"}", "config.json: metrics_file: must not be only blanks; name the file for"),
        ("{\"on_event\": \"   \"}", "config.json: on_event: must not be only blanks; give the command to run"),
        ("{\"ca_file\": \" \"}", "config.json: ca_file: must not be only blanks; name a PEM file"),
        ("[1]", "config.json: expected a JSON object of settings, found an array"),
        ("{\"theme\": \"light\",}", "config.json: not valid JSON: line 1, column 19"),
    ])
    func mistakesAreNamed(_ text: String, _ expected: String) {
        let message = Self.failure(text)
        #expect(message.hasPrefix(expected), "\(message)")
    }

    /// A default key is free once its own action has another: the same table the dashboard accepts.
    @Test func aDefaultKeyIsFreeWhenItsActionMovesToo() throws {
        let settings = try Self.parse("{\"keys\": {\"sort\": \"/\", \"filter\": \"F\"}}")
        #expect(settings.keys == ["sort": "/", "filter": "F"])
        #expect(try Self.parse("{\"on_event_timeout_seconds\": 0.1}").onEventTimeout == 0.1)
        #expect(Settings.onEventTimeoutRange == 0.1...600)
    }

    @Test func flagsWinOverTheFileWhichWinsOverDefaults() throws {
        let file = try Self.parse("{\"lead_seconds\": 120, \"concurrency\": 4, \"theme\": \"light\"}")
        var flags = Settings()
        flags.concurrency = 16
        let effective = EffectiveConfiguration(
            file: (file, "/etc/tt.json"), flags: flags, flagNames: ["concurrency": "--concurrency"])
        #expect(effective.settings.leadSeconds == 120)
        #expect(effective.settings.concurrency == 16)
        #expect(effective.settings.theme == "light")
        #expect(effective.settings.readOnly == false)
        let sources = Dictionary(uniqueKeysWithValues: effective.entries.map { ($0.name, $0) })
        #expect(sources["lead_seconds"]?.source == .file("/etc/tt.json"))
        #expect(sources["concurrency"]?.source == .flag("--concurrency"))
        #expect(sources["readonly"]?.source == .builtIn)
        #expect(sources["metrics_file"]?.value == "-")
        let policy = effective.policy(base: .standard)
        #expect(policy.minimumLead == 120 && policy.concurrency == 16)
        // 90 days unless said otherwise; 0 keeps every entry.
        #expect(sources["history_days"]?.value == "90" && policy.historyRetention == 90 * 86_400)
        flags.historyDays = 0
        #expect(
            EffectiveConfiguration(file: nil, flags: flags, flagNames: [:]).policy(base: .standard).historyRetention
                == nil)
        let report = effective.report()
        #expect(report.contains("concurrency               16"))
        #expect(report.split(separator: "\n").first { $0.hasPrefix("lead_seconds") }?.hasSuffix("(file /etc/tt.json)") == true)
        #expect(report.split(separator: "\n").count == Settings.names.count)
    }

    /// `--log -` means standard error: it wins over the file's log file, and `config` names the flag.
    @Test func aFlagThatSaysNoneWinsOverTheFile() throws {
        let file = try Self.parse(#"{"log_file": "/var/log/tt.log", "metrics_file": "/var/lib/node/tt.prom"}"#)
        let effective = EffectiveConfiguration(
            file: (file, "/etc/tt.json"), flags: Settings(), flagNames: ["log_file": "--log"])
        #expect(effective.settings.logFile == nil)
        #expect(effective.settings.metricsFile == "/var/lib/node/tt.prom")
        let log = effective.entries.first { $0.name == "log_file" }
        #expect(log?.value == "-" && log?.source == .flag("--log"))
    }

    @Test func aMissingFileIsNoSettingsUnlessItWasNamed() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-\(UUID()).json").path
        #expect(try ConfigFile.load(path: path) == Settings())
        #expect(throws: ConfigError("\(path): no such file")) { try ConfigFile.load(path: path, required: true) }
        #expect(throws: ConfigError("\(path): no such file (named by TOKENTOP_CONFIG)")) {
            try ConfigFile.load(path: path, required: true, namedBy: "TOKENTOP_CONFIG")
        }
    }

    /// A device or a pipe is named for what it is, and a FIFO nobody writes to is not waited on.
    @Test func aDeviceOrAPipeIsRefusedWithoutReadingIt() throws {
        let fifo = try temporaryDirectory().appendingPathComponent("config.json").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in ["/dev/null", fifo] {
            #expect(
                throws: ConfigError(
                    "\(path): is not a regular file (a device, a pipe or a socket); name a JSON file")
            ) { try ConfigFile.load(path: path, required: true) }
        }
    }

    /// A file larger than any configuration is refused without being read whole (a daemon reads it on every
    /// SIGHUP), naming the file and the limit; one just within the limit is read.
    @Test func aConfigurationFileLargerThanOneMiBIsRefused() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("config.json").path
        let padding = (1 << 20) - #"{"lead_seconds": 120}"#.utf8.count
        try Data((#"{"lead_seconds": 120"# + String(repeating: " ", count: padding) + "}").utf8)
            .write(to: URL(fileURLWithPath: path))
        #expect(try ConfigFile.load(path: path).leadSeconds == 120)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(" ".utf8))
        try handle.close()
        #expect(
            throws: ConfigError(
                "\(path): is larger than 1 MiB, which no configuration file is; name the JSON file of settings "
                    + "(named by TOKENTOP_CONFIG)")
        ) { try ConfigFile.load(path: path, required: true, namedBy: "TOKENTOP_CONFIG") }
    }
}
