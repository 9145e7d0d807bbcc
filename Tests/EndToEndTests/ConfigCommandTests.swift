import Foundation
import Testing

/// `tokentop config`, the configuration file and the flags that override it, through the real binary.
struct ConfigCommandTests {
    @Test func configSaysEachValueAndWhereItCameFrom() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let directory = sandbox.root.appendingPathComponent("config/tokentop")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("config.json").path
        try Data(#"{"lead_seconds": 120, "theme": "light", "readonly": true}"#.utf8).write(
            to: URL(fileURLWithPath: file))
        let run = try Binary.run(["config", "--concurrency", "3"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "configuration file: \(file)")
        func line(_ name: String) -> String { lines.first { $0.hasPrefix(name + " ") } ?? "" }
        #expect(line("lead_seconds").contains("120") && line("lead_seconds").hasSuffix("(file \(file))"))
        #expect(line("concurrency").contains("3") && line("concurrency").hasSuffix("(flag --concurrency)"))
        #expect(line("readonly").contains("true"))
        #expect(line("metrics_file").hasSuffix("(default)"))
        #expect(lines.dropFirst().first == "store: \(sandbox.database) (default)")

        // A PostgreSQL store is named without its password, and config does not connect to it.
        var shared = sandbox.environment
        shared["TOKENTOP_STORE"] = "postgres://ops:fake-password-0003@127.0.0.1:9/fleet"
        let store = try Binary.run(["config"], environment: shared)
        #expect(store.status == 0, "\(store.stderr)")
        #expect(store.stdout.contains("store: postgres://ops@127.0.0.1:9/fleet (TOKENTOP_STORE)\n"))
        #expect(!store.stdout.contains("fake-password-0003"))
    }

    /// `config` refuses a log file or a metrics file the daemon would refuse at start-up, in the daemon's words:
    /// it said nothing of a directory as the log or a metrics file in a missing folder.
    @Test func configRefusesTheLogAndMetricsFilesTheDaemonRefuses() throws {
        let sandbox = try Sandbox.holdingAnExpiredToken()
        defer { sandbox.remove() }
        let folder = sandbox.root.appendingPathComponent("no/such/dir").path
        let cases = [
            (
                #"{"log_file": "\#(sandbox.root.path)"}"#,
                "cannot open the log file \(sandbox.root.path): Is a directory"
            ),
            (
                #"{"metrics_file": "\#(folder)/m.prom"}"#,
                "cannot write the metrics file \(folder)/m.prom: its folder \(folder) does not exist"
            ),
            (
                #"{"log_file": "\#(folder)/d.log"}"#,
                "cannot open the log file \(folder)/d.log: No such file or directory"
            ),
        ]
        for (text, message) in cases {
            let config = try sandbox.write("checked.json", text)
            let checked = try Binary.run(["config", "--config", config], environment: sandbox.environment)
            #expect(checked.status == 1)
            #expect(checked.stderr == "tokentop: \(message)\n")
            #expect(checked.stdout.isEmpty, "\(checked.stdout)")
            let daemon = try Binary.run(["daemon", "--config", config], environment: sandbox.environment)
            #expect(daemon.status == 1)
            #expect(daemon.stderr == checked.stderr)
        }
    }

    @Test func aBrokenConfigurationFileStopsEveryCommandWithItsName() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("tt.json", #"{"concurrency": "eight"}"#)
        let run = try Binary.run(["list", "--config", file], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr == "tokentop: \(file): concurrency: expected a number, found a string\n")
        let missing = try Binary.run(
            ["status"], environment: sandbox.environment.merging(["TOKENTOP_CONFIG": file + ".gone"]) { $1 })
        // A check that cannot run is UNKNOWN to a monitor.
        #expect(missing.status == 3)
        #expect(missing.stdout == "UNKNOWN: \(file).gone: no such file (named by TOKENTOP_CONFIG)\n")
        #expect(missing.stderr.isEmpty, "its one line goes to stdout alone")
        let folder = try Binary.run(
            ["config"], environment: sandbox.environment.merging(["TOKENTOP_CONFIG": sandbox.root.path]) { $1 })
        #expect(folder.status == 1)
        #expect(
            folder.stderr == "tokentop: \(sandbox.root.path): cannot be read (it is a directory) (named by "
                + "TOKENTOP_CONFIG)\n")
        let flag = try Binary.run(["status", "--config", file + ".gone"], environment: sandbox.environment)
        #expect(flag.stdout == "UNKNOWN: \(file).gone: no such file\n", "the path typed on the command line")
    }

    /// `config` refuses what the dashboard would refuse later, naming the file: a default key of another action,
    /// and an event timeout the flag would not take either.
    @Test func configRefusesAKeyOfAnotherActionAndATimeoutOutOfTheFlagsRange() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let keys = try sandbox.write("keys.json", #"{"keys": {"sort": "/"}}"#)
        let run = try Binary.run(["config", "--config", keys], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: \(keys): keys.sort: \"/\" is already the key of filter; choose another "
                + "character, or give filter another key too\n")
        let timeout = try sandbox.write("timeout.json", #"{"on_event_timeout_seconds": 0.01}"#)
        let short = try Binary.run(["config", "--config", timeout], environment: sandbox.environment)
        #expect(short.status == 1)
        #expect(short.stderr == "tokentop: \(timeout): on_event_timeout_seconds: expected seconds from 0.1 to 600\n")
        let flag = try Binary.run(["config", "--on-event-timeout", "0.01"], environment: sandbox.environment)
        #expect(flag.status == 2)
        #expect(flag.stderr.hasPrefix("tokentop: --on-event-timeout needs a number from 0.1 to 600, not '0.01'"))
    }

    /// An empty path or command in the file is refused as its flag refuses it: by `config` too, before the daemon
    /// fails later in words that name neither the file nor the key.
    @Test(arguments: [
        ("metrics_file", "--metrics", "name the file for the textfile collector"),
        ("log_file", "--log", "name the daemon's log file"),
        ("on_event", "--on-event", "give the command to run for each event"),
        ("themes_dir", "--themes", "name the folder of theme files"),
    ])
    func anEmptyPathOrCommandInTheFileIsRefusedAsItsFlagIs(key: String, flag: String, hint: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("c.json", "{\"\(key)\": \"\"}")
        for command in [["config"], ["daemon"]] {
            let run = try Binary.run(command + ["--config", file], environment: sandbox.environment)
            #expect(run.status == 1, "\(command): \(run.stdout)")
            #expect(run.stdout.isEmpty, "\(command): \(run.stdout)")
            #expect(run.stderr.hasPrefix("tokentop: \(file): \(key): must not be empty; \(hint)"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database), "a refused daemon created the store")
        let refused = try Binary.run(["config", flag, ""], environment: sandbox.environment)
        #expect(refused.status == 2)
        #expect(refused.stderr.hasPrefix("tokentop: \(flag) needs a value"))
    }

    /// A path or command of only blanks names nothing anyone meant, in the file or as a flag: it is refused as an
    /// empty one is, before the daemon creates a log file named " ".
    @Test(arguments: [
        ("metrics_file", "--metrics", "name the file for the textfile collector"),
        ("log_file", "--log", "name the daemon's log file"),
        ("on_event", "--on-event", "give the command to run for each event"),
        ("themes_dir", "--themes", "name the folder of theme files"),
        ("ca_file", "--ca-file", "name a PEM file of certificate authorities"),
    ])
    func aBlankPathOrCommandIsRefusedAsAnEmptyOneIs(key: String, flag: String, hint: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("c.json", "{\"\(key)\": \"   \"}")
        for command in [["config"], ["daemon"]] {
            let run = try Binary.run(command + ["--config", file], environment: sandbox.environment)
            #expect(run.status == 1, "\(command): \(run.stdout)")
            #expect(run.stdout.isEmpty, "\(command): \(run.stdout)")
            #expect(run.stderr.hasPrefix("tokentop: \(file): \(key): must not be only blanks; \(hint)"), "\(run)")
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database), "a refused daemon created the store")
        for arguments in [[flag, " "], ["\(flag)=\t"]] {
            let refused = try Binary.run(["config"] + arguments, environment: sandbox.environment)
            #expect(refused.status == 2, "\(arguments)")
            #expect(refused.stderr.hasPrefix("tokentop: \(flag) needs a value, not only blanks\n"), "\(refused.stderr)")
        }
    }

    /// `-` in the file means what it means as a flag: standard error for the log; the metrics file needs a file.
    @Test func aDashInTheFileIsTakenAsItsFlagTakesIt() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let metrics = try sandbox.write("m.json", "{\"metrics_file\": \"-\"}")
        let refused = try Binary.run(["config", "--config", metrics], environment: sandbox.environment)
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix(
                "tokentop: \(metrics): metrics_file: needs a file, which is replaced whole every 5 seconds, not -"),
            "\(refused.stderr)")
        let log = try sandbox.write("l.json", "{\"log_file\": \"-\"}")
        let shown = try Binary.run(["config", "--config", log], environment: sandbox.environment)
        #expect(shown.status == 0, "\(shown.stderr)")
        let line = shown.stdout.split(separator: "\n").first { $0.hasPrefix("log_file ") }
        let words = line?.split(separator: " ", omittingEmptySubsequences: true) ?? []
        #expect(words.count >= 2 && words[1] == "-", "\(shown.stdout)")
    }

    @Test func aConfigurationFileQuotedOnStandardErrorHasItsControlCharactersCleaned() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // An escape written as JSON (`\u001b`) and one written as the raw byte, in a key and in a value.
        let texts = [
            #"{"\u001b]0;pwned\u0007\u001b[31mevil": 1}"#, "{\"\u{1B}[31mevil\": 1}",
            #"{"theme": 1, "x": "\u001b[31m"}"#, "{\"theme\": \"\u{1B}[31mred\"}",
        ]
        for (index, text) in texts.enumerated() {
            let file = try sandbox.write("evil\(index).json", text)
            for command in [["config"], ["list"], ["status"]] {
                let run = try Binary.run(command + ["--config", file], environment: sandbox.environment)
                #expect(run.status != 0, "\(command) \(text.debugDescription)")
                // `status` says it on stdout, the monitoring check's one line; every other command on stderr.
                let said = command == ["status"] ? run.stdout : run.stderr
                #expect(said.contains("evil\(index).json"), "\(said.debugDescription)")
                let clean = !said.contains("\u{1B}") && !said.contains("\u{07}")
                #expect(clean, "\(said.debugDescription)")
            }
        }
    }

    @Test(arguments: [
        (["--lead", "5"], "--lead needs a number from 10 to 86400, not '5'"),
        (["--concurrency", "0"], "--concurrency needs a whole number from 1 to 1024, not '0'"),
        (
            ["--history-days", "0x10"],
            "--history-days needs a whole number in plain decimal digits from 0 to 36500, not '0x10'"
        ),
        (["--history-days", "1e-320"], "--history-days needs a whole number in plain decimal digits from 0 to 36500"),
        (["--history-days=1e-07"], "--history-days needs a whole number in plain decimal digits from 0 to 36500"),
        (["--history-days", "16.5"], "--history-days needs a whole number in plain decimal digits from 0 to 36500"),
        (["--history-days", "36501"], "--history-days needs a whole number from 0 to 36500, not '36501'"),
        (["--concurrency", "0x10"], "--concurrency needs a whole number in plain decimal digits from 1 to 1024"),
        (["--lead", "1e3"], "--lead needs a number in plain decimal digits from 10 to 86400, not '1e3'"),
        (["reauth", "x", "--timeout", "inf"], "--timeout takes seconds from 1 to 86400 in plain decimal digits"),
        (["list", "--readonly"], "--readonly does not apply to 'list'"),
        (["list", "--log", "x.log"], "--log does not apply to 'list'"),
        (["daemon", "--metrics", "-"], "--metrics needs a file, which is replaced whole every 5 seconds, not -"),
    ])
    func badFlagsAreUsageErrors(_ arguments: [String], _ message: String) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: \(message)"), "\(run.stderr)")
    }

    /// Whole days in plain digits are taken as they are written; 0 keeps every entry.
    @Test(arguments: ["0", "16", "036500"])
    func historyDaysInPlainDigitsAreTaken(_ days: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(["config", "--history-days", days], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        let line = run.stdout.split(separator: "\n").first { $0.hasPrefix("history_days ") }
        let words = line?.split(separator: " ", omittingEmptySubsequences: true) ?? []
        #expect(words.count >= 2 && words[1] == "\(Int(days)!)", "\(run.stdout)")
        #expect(line?.hasSuffix("(flag --history-days)") == true, "\(run.stdout)")
    }

    static let themeName = "a theme name is a file name without '/' or '.theme', such as 'default' or 'monochrome'"

    /// A theme name the dashboard would refuse is refused by every command, as a flag and in the file: `config`
    /// never shows it as the theme in force.
    @Test(arguments: [
        ["config", "--theme", "../../etc/passwd"], ["config", "--theme=light.theme"], ["list", "--theme", "a/b"],
        ["--theme", "../x"], ["demo", "--theme", "x/"],
    ])
    func aThemeFlagTheDashboardWouldRefuseIsRefused(_ arguments: [String]) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let value = arguments.last { $0.contains("/") || $0.contains(".theme") } ?? ""
        let theme = value.hasPrefix("--theme=") ? String(value.dropFirst("--theme=".count)) : value
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: --theme \(theme): \(Self.themeName)\n"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func aThemeInTheFileTheDashboardWouldRefuseStopsConfig() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("tt.json", #"{"theme": "../../etc/passwd"}"#)
        for command in [["config"], ["list"]] {
            let run = try Binary.run(command + ["--config", file], environment: sandbox.environment)
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr == "tokentop: \(file): theme: \(Self.themeName)\n", "\(run.stderr)")
            #expect(run.stdout.isEmpty)
        }
        let fine = try Binary.run(["config", "--theme", "light"], environment: sandbox.environment)
        #expect(fine.status == 0, "\(fine.stderr)")
        let line = fine.stdout.split(separator: "\n").first { $0.hasPrefix("theme ") } ?? ""
        #expect(line.split(separator: " ").dropFirst().first == "light", "\(fine.stdout)")
        #expect(line.hasSuffix("(flag --theme)"))
    }

    /// A well-formed name of a theme that does not exist is refused by `config` as the dashboard refuses it, naming
    /// the theme and the folder it was looked for in, from the flag and from the file alike.
    @Test func aThemeTheDashboardCannotFindStopsConfig() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let themes = sandbox.root.appendingPathComponent("themes").path
        try FileManager.default.createDirectory(atPath: themes, withIntermediateDirectories: true)
        let light = OAuthServerFixture.packageRoot.appendingPathComponent("themes/light.theme")
        try FileManager.default.copyItem(atPath: light.path, toPath: themes + "/light.theme")
        let expected =
            "tokentop: \(themes)/nosuch.theme: no theme named 'nosuch': the file does not exist; themes there: light\n"
        let file = try sandbox.write("tt.json", #"{"theme": "nosuch"}"#)
        for arguments in [["--theme", "nosuch"], ["--config", file]] {
            let run = try Binary.run(["config", "--themes", themes] + arguments, environment: sandbox.environment)
            #expect(run.status == 1, "\(arguments)")
            #expect(run.stderr == expected, "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(arguments)")
        }
        let shipped = try Binary.run(
            ["config", "--themes", themes, "--theme", "light"], environment: sandbox.environment)
        #expect(shipped.status == 0, "\(shipped.stderr)")
        // A theme file with a bad line opens the dashboard in the default theme: config prints the settings, says
        // which line to fix, and fails, so that a check of the set-up notices.
        try Data("header = nosuchcolour\n".utf8).write(to: URL(fileURLWithPath: themes + "/broken.theme"))
        let broken = try Binary.run(
            ["config", "--themes", themes, "--theme", "broken"], environment: sandbox.environment)
        #expect(broken.status == 1, "\(broken.stderr)")
        #expect(broken.stdout.contains("\ntheme                     broken"), "\(broken.stdout)")
        #expect(
            broken.stderr.hasPrefix("tokentop: \(themes)/broken.theme:1: header: unknown colour 'nosuchcolour'"),
            "\(broken.stderr)")
        #expect(broken.stderr.hasSuffix("; the dashboard would use the built-in default theme\n"), "\(broken.stderr)")
    }

    /// A theme file that is a link to the key file is refused unread, naming the file and never what it holds.
    @Test func aThemeThatIsTheKeyFileIsRefusedWithoutItsContent() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let key = sandbox.root.appendingPathComponent("config/tokentop/key").path
        try FileManager.default.createDirectory(
            atPath: sandbox.root.appendingPathComponent("config/tokentop").path, withIntermediateDirectories: true)
        try Data("ZmFrZS1rZXktMDAwMS1ub3QtYS1yZWFsLWtleS0wMDA=\n".utf8).write(to: URL(fileURLWithPath: key))
        let themes = sandbox.root.appendingPathComponent("themes").path
        try FileManager.default.createDirectory(atPath: themes, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: themes + "/k.theme", withDestinationPath: key)
        let run = try Binary.run(["config", "--themes", themes, "--theme", "k"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: \(themes)/k.theme: refusing to read the key file as a theme; name a theme file "
                + "with --theme or --themes\n", "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains("ZmFrZS"))
        // A copy of it is no key file, and is read as a theme: its line is not repeated.
        try FileManager.default.removeItem(atPath: themes + "/k.theme")
        try FileManager.default.copyItem(atPath: key, toPath: themes + "/k.theme")
        let copy = try Binary.run(["config", "--themes", themes, "--theme", "k"], environment: sandbox.environment)
        #expect(copy.status == 1)
        #expect(copy.stderr.hasPrefix("tokentop: \(themes)/k.theme:1: unknown role (not repeated here"), "\(copy)")
        #expect(!(copy.stdout + copy.stderr).contains("ZmFrZS"))
    }
}
