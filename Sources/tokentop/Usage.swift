/// Every line of help the command line prints, and the man page: one source, so they cannot drift apart.
enum Usage {
    static let version = "0.1.0"
    /// The man page's date: when its text last changed.
    static let manDate = "2026-12-05"

    /// One subcommand: how it is called, one line for the overview, and what `tokentop help NAME` adds.
    struct Command {
        let name: String
        let synopsis: [String]
        let summary: String
        let details: String
        /// The options it accepts, by flag.
        let options: [String]
        /// What an option means for this command, where it differs from the shared table.
        var ownText: [String: String] = [:]

        /// The options `help NAME` lists: with `--db`, `--store` too, unless this command says otherwise.
        var listed: [String] {
            options.contains("--db") && ownText["--db"] == nil ? options + ["--store"] : options
        }
    }

    static let running = [
        "--lead", "--concurrency", "--readonly", "--metrics", "--on-event", "--on-event-timeout", "--history-days",
    ]

    static let commands: [Command] = [
        Command(
            name: "dashboard", synopsis: ["tokentop [--db PATH]"], summary: "open the dashboard",
            details: """
                The terminal dashboard on the database: connections grouped by identity model, live countdowns, \
                failures and re-auth prompts; the refresh actor runs in the same process. Press ? inside for the \
                keys.
                """, options: ["--db", "--theme", "--themes", "--config", "--ca-file"] + running),
        Command(
            name: "demo", synopsis: ["tokentop demo [--db PATH]"],
            summary: "open the dashboard on a fresh demo database",
            details: """
                Every identity model on its own grant, served by an in-process sandbox provider with short-lived \
                tokens, an outage and a refused grant, so refreshes, failures and re-auth prompts happen while you \
                watch. The database is temporary unless --db names a new file. The sandbox lives only as long as \
                the demo, so a kept database is for reading afterwards (list, show, audit, export): opened later in \
                the dashboard or the daemon, its connections can no longer renew.
                """, options: ["--db", "--theme", "--themes", "--config"] + running,
            ownText: ["--db": "a new file to keep the demo's database in, to read after the demo (default: a "
                + "temporary one; TOKENTOP_DB and --store are not used)"]),
        Command(
            name: "list", synopsis: ["tokentop list [--json] [--scope S] [--status S] [--workspace W]"],
            summary: "list connections",
            details: """
                One line per connection, or with --json one JSON array whose elements are documented in the \
                README (never a secret). The filters combine.
                """, options: ["--json", "--scope", "--status", "--workspace", "--db"]),
        Command(
            name: "show", synopsis: ["tokentop show ID [--json]"],
            summary: "every stored fact of one connection, and its history",
            details: "Fingerprints stand for the secrets, which are never shown.", options: ["--json", "--db"]),
        Command(
            name: "import", synopsis: ["tokentop import FILE"],
            summary: "add integrations and connections from a JSON file (- for stdin)",
            details: """
                The format is docs/import-format.md. Everything in the file is imported in one transaction, or \
                nothing; secrets are encrypted before they reach the database. An existing id is replaced. A file \
                written by `tokentop export` is restored whole, into an empty store only. An import file may be at \
                most 64 MiB, an export 1 GiB.
                """, options: ["--db"]),
        Command(
            name: "export", synopsis: ["tokentop export [FILE]"],
            summary: "the whole store as one JSON file (mode 0600; - or none for stdout), secrets still sealed",
            details: """
                Integrations, connections, history, the audit log and its sealed anchor, read at one moment. \
                `tokentop import FILE` restores it into a new, empty store (another --db file, or a PostgreSQL \
                database), which must use the same key: this is how a store moves between SQLite and PostgreSQL. \
                An existing FILE is replaced only when it is an earlier export; the store's own files and the key \
                file never are.
                """, options: ["--db"]),
        Command(
            name: "refresh", synopsis: ["tokentop refresh ID..."],
            summary: "refresh connections now (a static key: check it at its probe URL)",
            details: """
                Exit status 1 when any refresh or probe failed; each connection gets one line, on stdout when it \
                was renewed or its probe passed, on stderr when not. An id given twice is \
                refreshed once; an unknown id refuses the whole command, naming it, before any connection is \
                refreshed.
                """,
            options: ["--db", "--ca-file"]),
        Command(
            name: "revoke", synopsis: ["tokentop revoke ID..."], summary: "revoke at the provider (RFC 7009) and here",
            details: """
                The refresh token is revoked first, then the connection is marked revoked and its tokens erased. \
                When the refresh token's revocation went through but the access token's failed, the grant is \
                revoked (RFC 7009 ends its access tokens with it): the connection is marked revoked, and the \
                command says until when the access token lives should the provider keep it, and exits 1. A \
                revocation the provider refuses changes nothing here, shows in the connection's history and last \
                error, and exits 1. Without a revocation endpoint it is revoked here only and exits 0, with a \
                warning on stderr that the provider was not told and until when the token stays valid there. An id \
                given twice is revoked once; an unknown id refuses the whole command, naming it, before any \
                connection is revoked. Ctrl-C stops the wait for the provider's answer at once: the connection is \
                not marked revoked, since the request may have reached the provider, but its history, last error \
                and the audit log say so; the ids not reached are named, and it exits 130. Run it again to finish.
                """, options: ["--db", "--ca-file"]),
        Command(
            name: "delete", synopsis: ["tokentop delete ID... [--force]", "tokentop delete --integration ID..."],
            summary: "delete connections (revoke them first), or integrations no connection uses",
            details: """
                Removes each connection and its history from the store, but for one `deleted` history entry that \
                running dashboards and daemons show; the audit log keeps an entry for each, saying whether \
                --force was needed. Nothing is sent to the provider: a connection that is not \
                revoked and still holds a live token (a refresh token, or an access token or key not known to \
                have expired) is refused unless --force is given, since its token stays valid there. Revoke it \
                first with `tokentop revoke ID`. A connection that others derive their tokens from (their parent) \
                is refused unless those are named too. All or nothing: when any id is refused (an unknown one as \
                well), nothing is deleted, exit 1, and the message names every refusal. A running dashboard or \
                daemon drops a deleted connection within a second. With --integration the ids name \
                integrations, each deleted with its client secret or key only when no connection uses it.
                """, options: ["--force", "--integration", "--db"]),
        Command(
            name: "reauth", synopsis: ["tokentop reauth ID [--no-browser] [--timeout SECONDS]"],
            summary: "sign a user connection in again (browser with PKCE, or a device code)",
            details: """
                For a user connection whose integration has a sign-in endpoint: the authorization code flow with \
                PKCE over a loopback listener on 127.0.0.1, or the device flow when the integration has a device \
                endpoint. Exit 0 once the new tokens are stored. For other scopes, a user connection without a \
                sign-in endpoint, and one whose last refresh the token endpoint refused for the integration itself \
                (invalid_client, a redirect: the sign-in would end the same way), it says who must act and why, and \
                exits 1: nothing was re-authorized.
                """, options: ["--no-browser", "--timeout", "--db", "--ca-file"]),
        Command(
            name: "daemon", synopsis: ["tokentop daemon [--log FILE] [--metrics FILE] [--on-event CMD]"],
            summary: "run the refresh actor without a terminal (JSON lines on stderr)",
            details: """
                SIGTERM or SIGINT lets the refreshes in flight finish and exits 0. SIGHUP reloads the \
                configuration and reopens the log file. Several daemons, dashboards and CLI commands may share \
                one database.
                """, options: ["--db", "--config", "--log", "--ca-file"] + running),
        Command(
            name: "status", synopsis: ["tokentop status [--lead SECONDS]"],
            summary:
                "one line for monitoring; exit 0 OK, 1 failing or overdue, 2 re-auth, expired or unreadable, 3 unknown",
            details: """
                The convention of monitoring checks (Nagios, Sensu): the worst status decides the exit code, and a \
                store that cannot be read, or a command line it cannot run, is UNKNOWN (exit 3: its one line, on \
                standard output alone, says why). \
                Overdue: a token that a refresh token or grant can renew, past its expiry and not renewed, or \
                never minted (a grant that mints its token, imported without one, holds none yet). It \
                reads expiring (or failing), not expired, since no human must act; but nothing is refreshing it \
                (no daemon or dashboard runs), or its refreshes do not get through. Expired: past expiry, with \
                nothing to renew it. A static credential whose last probe failed (a 5xx, no answer) is a warning \
                too; one the provider refused (401, 403) needs re-auth. So is a token nothing can renew that \
                expires within the shortest lead window (5 minutes by default): a human must act before it runs \
                out. A stored connection whose row cannot be read (edited by hand, or written by a newer \
                version) is critical: nothing refreshes it until it is imported again.
                """, options: ["--lead", "--db"],
            ownText: [
                "--lead": "the shortest refresh lead window the check assumes (default: lead_seconds from the "
                    + "configuration, else 300): what counts as expiring, and how soon an unrenewable token warns"
            ]),
        Command(
            name: "providers", synopsis: ["tokentop providers [--json]"],
            summary: "the provider catalog: endpoints, grants, rotation, quirks",
            details: "Each fact is taken from the provider's documentation; docs/provider-catalog.md has the format.",
            options: ["--json"]),
        Command(
            name: "rekey", synopsis: ["tokentop rekey"],
            summary: "re-encrypt every secret under a new key (TOKENTOP_NEW_KEY, or a fresh key file)",
            details: """
                In one transaction, with its audit entry; refused while a dashboard, a daemon, or a refresh or \
                revoke command runs on the database. Two rekeys of stores that share the key file take turns.
                """,
            options: ["--db"]),
        Command(
            name: "audit", synopsis: ["tokentop audit [--json] [--verify]"],
            summary: "the operators' actions, hash-chained; --verify checks the chain",
            details: """
                --verify exits 1 and names the first entry that was changed or removed; with --json it prints one \
                object: intact, entries (how many were checked), first_broken and problem (null when intact).
                """,
            options: ["--json", "--verify", "--db"]),
        Command(
            name: "migrate", synopsis: ["tokentop migrate [--store URL]"],
            summary: "create or upgrade the store's tables, and say which schema version it is at",
            details: """
                Each migration runs in its own transaction; two processes migrating at once take turns, and the \
                second finds nothing to do. A store written by a newer tokentop is refused and left as it is. Every \
                command migrates on its own; this one is for doing it ahead of time, by hand.
                """, options: ["--db"]),
        Command(
            name: "config", synopsis: ["tokentop config"],
            summary: "the settings in force, and where each comes from",
            details: "Each setting, its value, and whether a flag, the configuration file or the default set it.",
            options: ["--config", "--log", "--ca-file"] + running),
        Command(
            name: "explain", synopsis: ["tokentop explain [SCOPE]"],
            summary: "the five identity models side by side; SCOPE's column is marked",
            details: """
                Who enforces permissions, whose name the provider's audit log shows, how many sign-ins \
                onboarding takes, the blast radius of a leak, how the credential is renewed, what re-auth means.
                """, options: []),
        Command(
            name: "help", synopsis: ["tokentop help [COMMAND]", "tokentop --help", "tokentop --version"],
            summary: "this help, one command's help, or the version and linked libraries", details: "",
            options: []),
    ]

    static let options: [(flag: String, argument: String, text: String)] = [
        ("--db", "PATH", "the database (default: $TOKENTOP_DB, else $XDG_DATA_HOME/tokentop/tokentop.sqlite3)"),
        (
            "--store", "URL",
            "a PostgreSQL store, postgres://USER@HOST:PORT/DB (a URL, not a key=value string), in place of the "
                + "database file (default: $TOKENTOP_STORE); the password comes from PGPASSWORD or ~/.pgpass"
        ),
        ("--themes", "DIR", "where theme files live (default: the themes/ folder shipped with tokentop)"),
        ("--theme", "NAME", "the dashboard's theme: default, light, high-contrast, monochrome, or NAME for NAME.theme"),
        ("--json", "", "machine-readable output"),
        ("--scope", "S", "user, org, delegated, workspace or bot"),
        ("--status", "S", "healthy, expiring, refreshing, failing, needs-reauth, expired, revoked or static"),
        ("--workspace", "W", "connections whose workspace is W, or workspace-scope ones whose subject is W"),
        ("--verify", "", "check the audit log's hash chain"),
        ("--force", "", "delete a connection that still holds a live token, without telling the provider"),
        ("--integration", "", "the ids name integrations, not connections"),
        (
            "--config", "FILE",
            "the configuration file (default: $TOKENTOP_CONFIG, else $XDG_CONFIG_HOME/tokentop/config.json)"
        ),
        ("--lead", "SECONDS", "the shortest refresh lead window (default 300)"),
        ("--concurrency", "N", "refreshes in flight at once (default 8)"),
        ("--readonly", "", "no refresh, revoke or re-auth from this process; the header shows a lock"),
        ("--log", "FILE", "the daemon's JSON-lines log (default, or -: stderr), appended to; reopened on SIGHUP; an "
            + "existing file must be a log of tokentop's"),
        ("--metrics", "FILE", "write Prometheus text exposition there, atomically, every 5 seconds"),
        (
            "--on-event", "CMD",
            "run CMD with sh -c for each event, the event as JSON on its stdin; its environment is tokentop's "
                + "without TOKENTOP_KEY, TOKENTOP_NEW_KEY, TOKENTOP_STORE, TOKENTOP_DB and PGPASSWORD"
        ),
        ("--on-event-timeout", "SECONDS", "kill an event command after this long (default 10)"),
        ("--history-days", "N", "delete history entries older than N whole days (default 90; 0 keeps them all)"),
        (
            "--ca-file", "FILE",
            "a PEM file of certificate authorities to trust for providers' TLS, besides the system's (a private CA)"
        ),
        ("--no-browser", "", "print the sign-in URL without opening a browser"),
        ("--timeout", "SECONDS", "how long to wait for the user (default 300, or the device code's lifetime)"),
    ]

    static let environment: [(name: String, text: String)] = [
        ("TOKENTOP_STORE", "a PostgreSQL URL, postgres://…, when neither --db nor --store is given; nothing else"),
        ("TOKENTOP_DB", "the database, when --db, --store and TOKENTOP_STORE are not given"),
        ("TOKENTOP_CONFIG", "the configuration file, when --config is not given"),
        (
            "TOKENTOP_KEY",
            "base64 of the 32-byte key that encrypts secrets (else a 0600 key file in $XDG_CONFIG_HOME/tokentop)"
        ),
        ("TOKENTOP_NEW_KEY", "the key rekey moves to"),
        ("NO_COLOR", "draw the dashboard without colours"),
    ]

    /// How to name an ID or FILE that starts with `-`; import refuses such ids, but older stores may hold them.
    static let endOfOptions =
        "-- ends the options: every argument after it is an ID or a FILE, even one that starts with -."

    static let keys = """
        q quit, ? help, r refresh, x revoke, a re-auth, Enter details, / filter, arrows or j/k move, \
        1-5 one scope, 0 all, s sort, space mark, i explain the identity model, Esc back or clear the filter
        """

    static let exitStatus = """
        0 success; 1 a failure (a refresh or revocation failed, a re-auth tokentop cannot do, a bad file, a \
        database problem); \
        2 a command line that makes no sense; status exits as a monitoring check does (0 OK, 1 warning, \
        2 critical, 3 unknown: the store could not be read, or its command line makes no sense)
        """

    // MARK: - Text

    /// `tokentop --help`.
    static var text: String {
        var lines = ["tokentop \(version): a terminal dashboard for OAuth tokens, API keys and app credentials.", ""]
        lines.append("Usage:")
        for command in commands {
            let first = "  " + command.synopsis[0]
            let summary = wrap(command.summary, width: 100 - 39).replacingOccurrences(
                of: "\n", with: "\n" + String(repeating: " ", count: 39))
            if first.count < 39 {
                lines.append(first.padding(toLength: 39, withPad: " ", startingAt: 0) + summary)
            } else {
                lines.append(first)
                lines.append(String(repeating: " ", count: 39) + summary)
            }
            for more in command.synopsis.dropFirst() { lines.append("  " + more) }
        }
        lines += ["", "Options:"]
        lines += options.map(optionLine)
        lines += ["", "Environment:"]
        let indent = "\n" + String(repeating: " ", count: 22)
        lines += environment.map {
            "  " + $0.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                + wrap($0.text, width: 78).replacingOccurrences(of: "\n", with: indent)
        }
        lines += ["", wrap("Dashboard keys: " + keys, width: 100), ""]
        lines += [wrap("Exit status: " + exitStatus, width: 100), ""]
        lines.append(wrap(endOfOptions, width: 100))
        lines.append("'tokentop help COMMAND' says more about one command; the man page is tokentop(1).")
        return lines.joined(separator: "\n")
    }

    /// `tokentop help --version` (`help -V`, `--version --help`): the version is a flag, not a command, but what it
    /// does deserves an answer, as `help --help` gets one.
    static var versionHelp: String {
        let details = """
            Prints tokentop's version, then the versions of the ncurses, SQLite and OpenSSL libraries it is linked \
            with, and exits 0. It takes no operands and no other option.
            """
        return [
            "Usage: tokentop --version", "       tokentop -V", "", "the version and linked libraries.", "",
            wrap(details, width: 100),
        ].joined(separator: "\n")
    }

    /// `tokentop help NAME`, or nil for a name that is no command.
    static func help(_ name: String) -> String? {
        if ["version", "--version", "-V"].contains(name) { return versionHelp }
        guard let command = commands.first(where: { $0.name == name }) else { return nil }
        var lines = ["Usage: " + command.synopsis.joined(separator: "\n       "), "", command.summary + "."]
        if !command.details.isEmpty { lines += ["", wrap(command.details, width: 100)] }
        // Wherever a database is named, a PostgreSQL store may be named instead.
        let own = options.filter { command.listed.contains($0.flag) }.map { option in
            (option.flag, option.argument, command.ownText[option.flag] ?? option.text)
        }
        if !own.isEmpty { lines += ["", "Options:"] + own.map(optionLine) }
        return lines.joined(separator: "\n")
    }

    /// `text` in lines of at most `width` characters, broken between words.
    static func wrap(_ text: String, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    private static func optionLine(_ option: (flag: String, argument: String, text: String)) -> String {
        let head = "  " + option.flag + (option.argument.isEmpty ? "" : " " + option.argument)
        let text = wrap(option.text, width: 100 - 22).replacingOccurrences(
            of: "\n", with: "\n" + String(repeating: " ", count: 22))
        return head.count < 22
            ? head.padding(toLength: 22, withPad: " ", startingAt: 0) + text
            : head + "\n" + String(repeating: " ", count: 22) + text
    }

    // MARK: - The man page

    /// `tokentop.1` in roff (man(7) macros), from the same tables as the help.
    static var manPage: String {
        func escape(_ text: String) -> String {
            var escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
            if escaped.hasPrefix(".") || escaped.hasPrefix("'") { escaped = "\\&" + escaped }
            return escaped
        }
        var lines = [
            ".TH TOKENTOP 1 \"\(manDate)\" \"tokentop \(version)\" \"User Commands\"",
            ".SH NAME", "tokentop \\- a terminal dashboard for OAuth tokens, API keys and app credentials",
            ".SH SYNOPSIS",
        ]
        for command in commands {
            for synopsis in command.synopsis { lines += [".br", ".B " + escape(synopsis)] }
        }
        lines += [
            ".SH DESCRIPTION",
            escape(
                "tokentop shows the credentials a product holds for its customers, grouped by identity model "
                    + "(user, org, delegated, workspace, bot), counts down every expiry, shows refresh failures "
                    + "and re-auth prompts, and lets an operator refresh, revoke and re-authorize by hand, while a "
                    + "refresh actor renews tokens before they expire."),
            ".SH COMMANDS",
        ]
        for command in commands {
            lines += [".TP", ".B " + escape(command.synopsis[0]), escape(command.summary + ".")]
            if !command.details.isEmpty { lines.append(escape(command.details)) }
        }
        lines.append(".SH OPTIONS")
        for option in options {
            let argument = option.argument.isEmpty ? "" : " \\fI\(option.argument)\\fR"
            lines += [".TP", ".B " + escape(option.flag) + argument]
            lines.append(escape(option.text))
        }
        lines += [".PP", escape(endOfOptions)]
        lines.append(".SH ENVIRONMENT")
        for variable in environment { lines += [".TP", ".B " + escape(variable.name), escape(variable.text)] }
        lines += [
            ".SH KEYS", escape(keys), ".SH EXIT STATUS", escape(exitStatus), ".SH FILES", ".TP",
            ".I $XDG_DATA_HOME/tokentop/tokentop.sqlite3", "the database", ".TP",
            ".I $XDG_CONFIG_HOME/tokentop/config.json", "the configuration file", ".TP",
            ".I $XDG_CONFIG_HOME/tokentop/key", "the key that encrypts secrets, mode 0600", ".TP",
            ".I $XDG_CONFIG_HOME/tokentop/themes/NAME.theme", "a user's theme",
            ".SH SEE ALSO", "The README and docs/ in the source distribution.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
