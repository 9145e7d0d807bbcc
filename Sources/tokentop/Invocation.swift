import Foundation
import TokentopCore

/// What the user asked for on the command line, parsed and checked, before anything runs.
struct Invocation: Equatable {
    enum Command: Equatable {
        case dashboard
        case demo
        case list(json: Bool, scope: IdentityScope?, status: ConnectionStatus?, workspace: String? = nil)
        case show(id: String, json: Bool)
        case importFile(path: String)
        /// `tokentop export [FILE]`: nil or `-` for standard output.
        case exportStore(path: String?)
        case refresh(ids: [String])
        case revoke(ids: [String])
        /// `tokentop delete ID...`: connections, or with `--integration` integrations.
        case delete(ids: [String], force: Bool, integrations: Bool)
        /// `browser`: whether to try to open a browser for the sign-in URL (`--no-browser` turns it off).
        case reauth(id: String, browser: Bool, timeout: Double?)
        case daemon
        case audit(json: Bool, verify: Bool)
        case rekey
        case providers(json: Bool)
        case explain(scope: IdentityScope?)
        case status
        case help(topic: String?)
        case manPage
        case version
        case config
        case migrate
    }

    var command: Command
    /// `--db PATH` or `--store URL`, when given: an SQLite file or a PostgreSQL URL.
    var database: String?
    /// `--themes DIR`, when given.
    var themes: String? { settings.themesDirectory }
    /// `--theme NAME`, when given.
    var theme: String? { settings.theme }
    /// Settings given as flags; the configuration file fills in the rest (see ``EffectiveConfiguration``).
    var settings = Settings()
    /// The flag that set each setting, by the setting's name in the file, for `tokentop config`.
    var flagNames: [String: String] = [:]
    /// `--config FILE`, when given.
    var configFile: String?
}

/// A command line that makes no sense; its message says what is wrong and `--help` says the rest.
struct UsageError: Error, CustomStringConvertible {
    var description: String
}

extension Invocation {
    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        var database: String?
        var settings = Settings()
        var flagNames: [String: String] = [:]
        var configFile: String?
        var json = false
        var verify = false
        var force = false
        var integrations = false
        var browser = true
        var timeout: Double?
        var scope: IdentityScope?
        var status: ConnectionStatus?
        var workspace: String?
        var positional: [String] = []
        var flags: [String] = []
        /// The options that took a value so far: each takes one, so a second is refused rather than silently winning.
        var given: Set<String> = []
        /// How the version was asked for (`--version`, `-V`), to name it when something else comes with it.
        var versionSpelling = "version"
        /// Whether `--version` or `-V` was given: it is placed among the operands once all are read.
        var versionFlag = false
        var index = 0

        func value(for flag: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count, !arguments[index].isEmpty else {
                throw UsageError(description: "\(flag) needs a value")
            }
            try Self.refuseBlank(arguments[index], flag)
            // `list --workspace --db x` forgot the workspace: taking `--db` for it would leave `x` unexplained.
            let next = arguments[index]
            if next.hasPrefix("--"), next.count > 2 {
                throw UsageError(
                    description: "\(flag) needs a value, not the option \(Self.quoted(next)) (write "
                        + "\(flag)=\(SafeText.name(next)) for a value that starts with --)")
            }
            return next
        }

        while index < arguments.count {
            let argument = arguments[index]
            var name = argument
            var inline: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inline = String(argument[argument.index(after: equals)...])
            }
            func take() throws(UsageError) -> String {
                // --db and --store name the same thing, the store.
                let slot = name == "--store" ? "--db" : name
                guard given.insert(slot).inserted else {
                    throw UsageError(
                        description: slot == "--db"
                            ? "give one store: --db PATH or --store URL, once"
                            : "give \(name) once; it takes one value")
                }
                if let inline {
                    guard !inline.isEmpty else { throw UsageError(description: "\(name) needs a value") }
                    try Self.refuseBlank(inline, name)
                    return inline
                }
                return try value(for: name)
            }
            // `--json=no` must not read as `--json`: a switch says yes by being there, so a value is a mistake.
            if inline != nil, Self.switches.contains(name) {
                throw UsageError(description: "\(name) takes no value; write \(name) alone")
            }
            /// Records that this flag set the setting `key`, for `tokentop config` and for `allow`.
            func note(_ key: String) {
                flagNames[key] = name
                flags.append(name)
            }
            switch name {
            case "--db", "--store":
                let value = try take()
                if name == "--store", let problem = Self.storeURLProblem(value, namedBy: name, fileOption: "--db") {
                    throw UsageError(description: problem)
                }
                database = value
            case "--themes":
                settings.themesDirectory = try take()
                flagNames["themes_dir"] = name
            case "--theme":
                let theme = try take()
                // Checked here, as the dashboard checks it, so that no command takes a name the dashboard refuses.
                if let problem = Settings.themeNameProblem(theme) {
                    throw UsageError(description: "--theme \(theme): \(problem)")
                }
                settings.theme = theme
                flagNames["theme"] = name
            case "--config": configFile = try take()
            case "--lead":
                settings.leadSeconds = try Self.number(try take(), name, range: 10...86_400)
                note("lead_seconds")
            case "--concurrency":
                settings.concurrency = Int(try Self.number(try take(), name, range: 1...1024, whole: true))
                note("concurrency")
            case "--readonly":
                settings.readOnly = true
                note("readonly")
            case "--log":
                // `-` is standard error, where the log goes without --log, rather than a file named "-".
                let file = try take()
                settings.logFile = file == "-" ? nil : file
                note("log_file")
            case "--metrics":
                let file = try take()
                guard file != "-" else {
                    throw UsageError(
                        description: "--metrics needs a file, which is replaced whole every 5 seconds, not -")
                }
                settings.metricsFile = file
                note("metrics_file")
            case "--on-event":
                settings.onEvent = try take()
                note("on_event")
            case "--on-event-timeout":
                settings.onEventTimeout = try Self.number(try take(), name, range: Settings.onEventTimeoutRange)
                note("on_event_timeout_seconds")
            case "--history-days":
                settings.historyDays = try Self.number(
                    try take(), name, range: Settings.historyDaysRange, whole: true)
                note("history_days")
            case "--ca-file":
                // `-` is no file: the system's store alone, over a configuration file's ca_file.
                let file = try take()
                settings.caFile = file == "-" ? nil : file
                note("ca_file")
            case "--verify":
                verify = true
                flags.append(name)
            case "--force":
                force = true
                flags.append(name)
            case "--integration":
                integrations = true
                flags.append(name)
            case "--json": json = true; flags.append(name)
            // Not in the help: it prints the man page, which the repository keeps as doc/tokentop.1.
            case "--roff": flags.append(name)
            case "--no-browser":
                browser = false
                flags.append(name)
            case "--timeout":
                timeout = try Self.seconds(try take(), name)
                flags.append(name)
            case "--scope":
                scope = try Self.choice(try take(), "scope")
                flags.append(name)
            case "--status":
                status = try Self.choice(try take(), "status")
                flags.append(name)
            case "--workspace":
                workspace = try take()
                flags.append(name)
            case "-h", "--help": positional.insert("help", at: 0)
            case "-V", "--version":
                versionFlag = true
                versionSpelling = name
            case "--": positional.append(contentsOf: arguments[(index + 1)...]); index = arguments.count
            default:
                if argument.hasPrefix("-") && argument.count > 1 {
                    throw UsageError(description: "unknown option \(Self.quoted(argument))")
                }
                positional.append(argument)
            }
            index += 1
        }

        if versionFlag {
            // `help --version` and `--version --help` ask what the flag does, as `help --help` asks what help does;
            // anything else with it is an operand the version refuses.
            if positional == ["help"] { positional.append("version") } else { positional.insert("version", at: 0) }
        }
        let verb = positional.first
        let operands = Array(positional.dropFirst())
        /// The operands as a usage error quotes them.
        let typed = Self.quoted(operands.joined(separator: " "))
        func allow(_ allowed: Set<String>) throws(UsageError) {
            if let extra = flags.first(where: { !allowed.contains($0) }) {
                throw UsageError(description: "\(extra) does not apply to '\(verb ?? "tokentop")'")
            }
        }
        func exactly(_ count: Int, _ what: String) throws(UsageError) {
            guard operands.count == count else {
                throw UsageError(
                    description: operands.count < count
                        ? "'\(verb!)' needs \(what)"
                        : "'\(verb!)' takes \(what), not \(typed)")
            }
        }
        /// An empty operand (`show ''`, an unset shell variable) names nothing: said so, not looked up.
        func nonEmpty(_ what: String, hint: String) throws(UsageError) {
            guard !operands.contains("") else {
                throw UsageError(description: "'\(verb!)' was given an empty \(what); \(hint)")
            }
        }
        func ids() throws(UsageError) { try nonEmpty("connection id", hint: "`tokentop list` shows the ids") }
        let command: Command
        let running: Set<String> = [
            "--lead", "--concurrency", "--readonly", "--metrics", "--on-event", "--on-event-timeout", "--history-days",
        ]
        switch verb {
        case nil, "dashboard":
            try allow(running.union(["--ca-file"]))
            try exactly(0, "no operands")
            command = .dashboard
        case "demo":
            try allow(running)
            try exactly(0, "no operands")
            command = .demo
        case "list":
            try allow(["--json", "--scope", "--status", "--workspace"])
            try exactly(0, "no operands")
            command = .list(json: json, scope: scope, status: status, workspace: workspace)
        case "show":
            try allow(["--json"])
            try exactly(1, "one connection id")
            try ids()
            command = .show(id: Self.composed(operands[0]), json: json)
        case "import":
            try allow([])
            try exactly(1, "one file")
            try nonEmpty("file name", hint: "name a JSON file, or - for standard input")
            command = .importFile(path: operands[0])
        case "export":
            try allow([])
            guard operands.count <= 1 else {
                throw UsageError(
                    description: "'export' takes at most one file, not \(typed)")
            }
            try nonEmpty("file name", hint: "name a file, or - (or nothing) for standard output")
            command = .exportStore(path: operands.first)
        case "refresh", "revoke":
            try allow(["--ca-file"])
            guard !operands.isEmpty else {
                throw UsageError(description: "'\(verb!)' needs at least one connection id")
            }
            try ids()
            // `refresh a a` means a, once: a second refresh or revocation of the same connection is no one's wish.
            let named = Self.once(operands.map(Self.composed))
            command = verb == "refresh" ? .refresh(ids: named) : .revoke(ids: named)
        case "delete":
            try allow(["--force", "--integration"])
            let what = integrations ? "integration id" : "connection id"
            guard !operands.isEmpty else { throw UsageError(description: "'delete' needs at least one \(what)") }
            if integrations, force {
                throw UsageError(
                    description: "--force does not apply to 'delete --integration': an integration is deleted only "
                        + "when no connection uses it")
            }
            let hint =
                integrations ? "`tokentop show ID` names a connection's integration" : "`tokentop list` shows the ids"
            try nonEmpty(what, hint: hint)
            command = .delete(ids: Self.once(operands.map(Self.composed)), force: force, integrations: integrations)
        case "reauth":
            try allow(["--no-browser", "--timeout", "--ca-file"])
            try exactly(1, "one connection id")
            try ids()
            command = .reauth(id: Self.composed(operands[0]), browser: browser, timeout: timeout)
        case "daemon":
            try allow(running.union(["--log", "--ca-file"]))
            try exactly(0, "no operands")
            command = .daemon
        case "audit":
            try allow(["--json", "--verify"])
            try exactly(0, "no operands")
            command = .audit(json: json, verify: verify)
        case "status":
            // The lead window decides what is expiring and which unrenewable tokens warn; lead_seconds applies too.
            try allow(["--lead"])
            try exactly(0, "no operands")
            command = .status
        case "providers":
            try allow(["--json"])
            try exactly(0, "no operands")
            command = .providers(json: json)
        case "explain":
            try allow([])
            guard operands.count <= 1 else {
                throw UsageError(
                    description: "'explain' takes at most one scope, not \(typed)")
            }
            var scope: IdentityScope?
            if let operand = operands.first { scope = try Self.choice(operand, "scope") }
            command = .explain(scope: scope)
        case "rekey":
            try allow([])
            try exactly(0, "no operands")
            command = .rekey
        case "help":
            try allow(["--roff"])
            guard operands.count <= 1 else {
                throw UsageError(
                    description: "'help' takes at most one command, not \(typed)")
            }
            if let topic = operands.first, Usage.help(topic) == nil {
                let names = Usage.commands.map(\.name).joined(separator: ", ")
                throw UsageError(description: "no command \(Self.quoted(topic)); commands are \(names)")
            }
            command = flags.contains("--roff") ? .manPage : .help(topic: operands.first)
        case "version":
            try allow([])
            // `tokentop --version extra` asked for something besides the version; saying only the version hides it.
            guard operands.isEmpty else {
                throw UsageError(
                    description: "'\(versionSpelling)' takes no operands, not \(typed)")
            }
            command = .version
        case "config":
            try allow(running.union(["--log", "--ca-file"]))
            try exactly(0, "no operands")
            command = .config
        case "migrate":
            try allow([])
            try exactly(0, "no operands")
            command = .migrate
        case let other?:
            throw UsageError(description: "unknown command \(Self.quoted(other))")
        }
        return Invocation(
            command: command, database: database, settings: settings, flagNames: flagNames, configFile: configFile)
    }

    /// The command `arguments` name, found without parsing them: the first operand that no option takes as its
    /// value. For a command line that does not parse, so that `status` can still answer as a monitoring check does.
    static func verb(of arguments: [String]) -> String? {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" { return index + 1 < arguments.count ? arguments[index + 1] : nil }
            if !argument.hasPrefix("-") || argument == "-" { return argument }
            if valued.contains(argument) { index += 1 }
            index += 1
        }
        return nil
    }

    /// The options that take a value, written apart from it (`--lead 60`; `--lead=60` is one argument): those the
    /// help lists with an argument.
    private static let valued = Set(Usage.options.filter { !$0.argument.isEmpty }.map(\.flag))

    /// `ids` in their order, each once.
    private static func once(_ ids: [String]) -> [String] {
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }
    }

    /// Why `value`, given as `name` (`--store`, `TOKENTOP_STORE`), names no PostgreSQL store, or nil. Only a URL is
    /// taken there: a libpq `key=value` string would be opened as an SQLite file of that name. The value is quoted
    /// with any password hidden.
    /// - Parameter fileOption: where an SQLite file is named instead.
    static func storeURLProblem(_ value: String, namedBy name: String, fileOption: String) -> String? {
        guard !Store.isPostgres(value) else { return nil }
        let keywords = value.contains("=") && !value.contains("://") ? "a libpq key=value string is not taken; " : ""
        return "\(name) \(Store.displayName(value)) is not a PostgreSQL URL; \(keywords)write "
            + "postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass), or name an SQLite file "
            + "with \(fileOption)"
    }

    /// `id` as the store keeps every id: in Unicode NFC, so that an id typed with a combining accent (`e` and
    /// U+0301, as some keyboards and file names give it) names the stored, composed one (`é`), and not another.
    private static func composed(_ id: String) -> String { id.precomposedStringWithCanonicalMapping }

    /// The options that take no value: each is on by being given.
    private static let switches: Set<String> = [
        "--readonly", "--verify", "--json", "--roff", "--no-browser", "--help", "--version", "--force",
        "--integration",
    ]

    /// Whether `text` is a number as people write one: decimal digits, for a fraction with one point among them.
    /// `Double` alone also reads `0x10`, `1e-07` and `inf`, which no one means as a count of days or seconds.
    private static func isPlainDecimal(_ text: String, whole: Bool) -> Bool {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard !whole || parts.count == 1 else { return false }
        return parts.allSatisfy { $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
            && parts.contains { !$0.isEmpty }
    }

    /// Refuses a value of only blanks, as an empty one is refused: a file, a folder or a command named " " is a
    /// slip (a variable that expanded to nothing), never what anyone meant.
    private static func refuseBlank(_ text: String, _ flag: String) throws(UsageError) {
        guard text.allSatisfy(\.isWhitespace) else { return }
        throw UsageError(description: "\(flag) needs a value, not only blanks")
    }

    /// What the user typed, as a usage error quotes it: in single quotes when it holds nothing unsafe, else spelled
    /// out as ``SafeText/name(_:)`` does (`"a\nb"`), so that the message stays one line and shows what was given;
    /// cut as that cuts a long name.
    static func quoted(_ text: String) -> String {
        let named = SafeText.name(text)
        return text.isEmpty || text.unicodeScalars.contains(where: SafeText.isUnsafe) ? named : "'\(named)'"
    }

    /// A number within `range`, in plain decimal digits, or a usage error naming the flag, the value and the form.
    private static func number(
        _ text: String, _ flag: String, range: ClosedRange<Double>, whole: Bool = false
    ) throws(UsageError) -> Double {
        let plain = isPlainDecimal(text, whole: whole)
        guard plain, let value = Double(text), value.isFinite, range.contains(value) else {
            let kind = (whole ? "a whole number" : "a number") + (plain ? "" : " in plain decimal digits")
            let low =
                range.lowerBound == range.lowerBound.rounded() ? "\(Int(range.lowerBound))" : "\(range.lowerBound)"
            throw UsageError(
                description: "\(flag) needs \(kind) from \(low) to \(Int(range.upperBound)), not \(quoted(text))")
        }
        return value
    }

    /// A number of seconds from 1 to one day.
    private static func seconds(_ text: String, _ flag: String) throws(UsageError) -> Double {
        let plain = isPlainDecimal(text, whole: false)
        guard plain, let value = Double(text), value >= 1, value <= 86_400 else {
            let form = plain ? "" : " in plain decimal digits"
            throw UsageError(description: "\(flag) takes seconds from 1 to 86400\(form), not \(quoted(text))")
        }
        return value
    }

    /// One of an enumeration's raw values, or a usage error listing them all.
    private static func choice<T: CaseIterable & RawRepresentable>(
        _ text: String, _ noun: String
    ) throws(UsageError) -> T where T.RawValue == String {
        guard let value = T(rawValue: text) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError(
                description: text.isEmpty
                    ? "an empty \(noun); use one of \(names)" : "unknown \(noun) \(quoted(text)); use one of \(names)")
        }
        return value
    }
}
