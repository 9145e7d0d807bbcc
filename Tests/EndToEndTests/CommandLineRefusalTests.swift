import Foundation
import Testing

/// What the command line refuses, and what it does not pretend to have done: each case exits non-zero, says what
/// is wrong and where, and changes nothing.
struct CommandLineRefusalTests {
    /// A sandbox holding ``CommandLineTests/importFile``: acme-alice (user, no sign-in endpoint), acme-key (org).
    static func imported() throws -> Sandbox {
        let sandbox = try Sandbox()
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        guard run.status == 0 else { throw OAuthServerFixture.Failure("import failed: \(run.stderr)") }
        return sandbox
    }

    /// An id is echoed on the one line of its error with a line break or an escape in it spelled out (`"bad\nid"`):
    /// split over two lines, the message read as two, the second one a message of its own.
    @Test(arguments: ["show", "refresh", "revoke", "delete", "reauth"])
    func anIdWithALineBreakIsEchoedOnOneLine(command: String) throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run([command, "bad\nid\u{1B}[2J"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(#"no connection named "bad\nid\u001b[2J" in "#), "\(run.stderr)")
    }

    /// `reauth` that can only say who must act re-authorized nothing, so `reauth ID && …` must not go on.
    @Test(arguments: [
        (
            "acme-key", "acme-key: nobody needs to act now",
            "acme-key: not re-authorized here: acme-key is an org connection: no user signs in to it here; "
                + "an org admin must grant access again"
        ),
        (
            "acme-alice", "acme-alice: nobody needs to act now",
            "acme-alice: not re-authorized here: integration acme has neither authorization_url nor "
                + "device_authorization_url"
        ),
    ])
    func reauthThatCanOnlyPromptExitsOne(id: String, prompt: String, refusal: String) throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run(["reauth", id], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix(prompt + "\n"), "\(run.stdout)")
        #expect(run.stdout.contains("why: "))
        #expect(run.stderr.hasPrefix("tokentop: " + refusal), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    /// A connection whose refresh the provider refused as `invalid_client` waits for whoever runs the integration:
    /// `reauth` names the integration and what to check there, not "nobody needs to act".
    @Test func reauthOfAConnectionWithAConfigurationErrorNamesTheIntegrationToFix() async throws {
        let server = try await TokenAnswerShapeTests.server(
            status: 401, type: "application/json",
            body: #"{"error": "invalid_client", "error_description": "client authentication failed"}"#)
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write(
            "import.json",
            """
            {"integrations": [{"id": "acme-app", "provider": "acme", "token_url": "http://127.0.0.1:\(server.port)/t",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0004"}],
             "connections": [{"id": "acme-bot", "integration": "acme-app", "scope": "bot", "subject": "app:bot",
              "grant": "client_credentials", "access_token": "fake-at-0004", "expires_in": 3600}]}
            """)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let refresh = try Binary.run(["refresh", "acme-bot"], environment: sandbox.environment)
        #expect(refresh.status == 1, "\(refresh.stdout) \(refresh.stderr)")
        let run = try Binary.run(["reauth", "acme-bot"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stdout.hasPrefix(
                "acme-bot: an operator must fix integration acme-app (client id, secret, authentication method or "
                    + "token URL)\nwhy: the provider refused the integration's configuration: invalid_client "
                    + "(HTTP 401): client authentication failed; "), "\(run.stdout)")
        #expect(!run.stdout.contains("nobody needs to act"))
        #expect(run.stderr.hasPrefix("tokentop: acme-bot: not re-authorized here: "), "\(run.stderr)")
    }

    /// A revoked connection still needs a human; tokentop did not restore it.
    @Test func reauthOfARevokedOrgConnectionExitsOne() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        #expect(try Binary.run(["revoke", "acme-key"], environment: sandbox.environment).status == 0)
        let run = try Binary.run(["reauth", "acme-key"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix("acme-key: an admin of org:acme must grant access again\n"), "\(run.stdout)")
        #expect(run.stdout.contains("why: the connection was revoked; only a new authorization restores it"))
        #expect(run.stderr.hasPrefix("tokentop: acme-key: not re-authorized here: "), "\(run.stderr)")
    }

    /// An option that takes one value, given twice, is refused like two stores are: the last must not silently win.
    @Test(arguments: [
        (["list", "--scope", "user", "--scope", "org"], "give --scope once; it takes one value"),
        (["list", "--status", "static", "--status=healthy"], "give --status once; it takes one value"),
        (["list", "--workspace=a", "--workspace", "a"], "give --workspace once; it takes one value"),
        (["list", "--db=one.sqlite3", "--db", "two.sqlite3"], "give one store: --db PATH or --store URL, once"),
        (["list", "--db", "one.sqlite3", "--store", "postgres://u@127.0.0.1:9/db"], "give one store: --db PATH"),
        (["daemon", "--lead", "60", "--lead", "120"], "give --lead once; it takes one value"),
        (["config", "--theme", "light", "--theme", "monochrome"], "give --theme once; it takes one value"),
        (["reauth", "acme-alice", "--timeout", "5", "--timeout", "6"], "give --timeout once; it takes one value"),
    ])
    func aSingleValueOptionGivenTwiceIsRefused(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: \(message)"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    /// A switch given twice still means yes: nothing is lost by repeating it.
    @Test func aSwitchGivenTwiceIsStillOn() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run(["list", "--json", "--json", "--scope", "org"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["id"] as? String } == ["acme-key"])
    }

    /// The version takes nothing besides itself, however it is asked for.
    @Test(arguments: [
        (["--version", "extra"], "'--version' takes no operands, not 'extra'"),
        (["-V", "a", "b"], "'-V' takes no operands, not 'a b'"),
        (["version", "extra"], "'version' takes no operands, not 'extra'"),
        (["list", "--version"], "'--version' takes no operands, not 'list'"),
        (["--version", "--json"], "--json does not apply to 'version'"),
    ])
    func theVersionRefusesStrayArguments(arguments: [String], message: String) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: \(message)\n"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let alone = try Binary.run(["--version"])
        #expect(alone.status == 0)
        #expect(alone.stdout.hasPrefix("tokentop 0."), "\(alone.stdout)")
    }

    /// `help --version` asks what the flag does, as `help --help` asks what help does: it used to be refused as
    /// "'--version' takes no operands, not 'help'". Every spelling of the question gets the same answer, exit 0.
    @Test(arguments: [
        ["help", "--version"], ["help", "-V"], ["--version", "--help"], ["--help", "--version"], ["-h", "-V"],
        ["help", "version"], ["version", "--help"], ["help", "--", "--version"],
    ])
    func askingForTheVersionsHelpShowsIt(arguments: [String]) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        #expect(
            run.stdout == """
                Usage: tokentop --version
                       tokentop -V

                the version and linked libraries.

                Prints tokentop's version, then the versions of the ncurses, SQLite and OpenSSL libraries it is
                linked with, and exits 0. It takes no operands and no other option.

                """)
        // Something else besides stays refused, naming what came with the flag.
        let extra = try Binary.run(arguments + ["list"])
        #expect(extra.status == 2)
        #expect(extra.stdout.isEmpty)
    }

    /// `status` is a monitoring check: a command line it cannot run is UNKNOWN (exit 3, its one line on stdout and
    /// nothing on stderr, so that a monitor keeping both shows it once), never exit 2, which a monitor reads as
    /// CRITICAL. Other commands keep exit 2 for a command line that makes no sense.
    @Test(arguments: [
        (["status", "--lead", "abc"], "--lead needs a number in plain decimal digits from 10 to 86400, not 'abc'"),
        (["status", "--bogus"], "unknown option '--bogus'"),
        (["--bogus", "status"], "unknown option '--bogus'"),
        (["status", "--json"], "--json does not apply to 'status'"),
        (["status", "extra"], "'status' takes no operands, not 'extra'"),
        (["--lead=5", "status"], "--lead needs a number from 10 to 86400, not '5'"),
    ])
    func aStatusCommandLineThatMakesNoSenseIsUnknown(arguments: [String], message: String) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 3)
        #expect(run.stdout == "UNKNOWN: \(message)\n", "\(run.stdout)")
        #expect(run.stderr.isEmpty, "\(run.stderr)")
    }

    /// A very long id is echoed cut to its first 79 characters and `…`: a 100,000-character one filled the terminal.
    @Test(arguments: ["show", "refresh", "revoke", "delete", "reauth"])
    func aVeryLongIdIsEchoedCut(command: String) throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run([command, String(repeating: "a", count: 100_000)], environment: sandbox.environment)
        #expect(run.status == 1)
        let shown = String(repeating: "a", count: 79) + "…"
        #expect(run.stderr.contains("no connection named \(shown) in "), "\(run.stderr.prefix(300))")
        #expect(run.stderr.utf8.count < 600, "\(run.stderr.utf8.count) bytes on stderr")
    }

    @Test(arguments: [["list", "--bogus"], ["--lead", "status"], ["help", "status", "--bogus"]])
    func otherCommandLinesThatMakeNoSenseStayExitTwo(arguments: [String]) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        #expect(run.stderr.hasSuffix("Run 'tokentop --help' for usage.\n"), "\(run.stderr)")
    }

    /// An empty id (`show ''`, an unset shell variable) gets its own message, not `no connection named  in …`.
    @Test(arguments: [
        (["show", ""], "'show' was given an empty connection id; `tokentop list` shows the ids"),
        (["show", "--json", "--", ""], "'show' was given an empty connection id"),
        (["refresh", "acme-key", ""], "'refresh' was given an empty connection id; `tokentop list` shows the ids"),
        (["revoke", "", "acme-key"], "'revoke' was given an empty connection id; `tokentop list` shows the ids"),
        (["reauth", ""], "'reauth' was given an empty connection id; `tokentop list` shows the ids"),
        (["explain", ""], "an empty scope; use one of user, org, delegated, workspace, bot"),
        (["import", ""], "'import' was given an empty file name; name a JSON file, or - for standard input"),
        (["export", ""], "'export' was given an empty file name"),
    ])
    func anEmptyOperandIsNamedAsEmpty(arguments: [String], message: String) throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let before = try Data(contentsOf: URL(fileURLWithPath: sandbox.database))
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: \(message)"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.database)) == before, "nothing was revoked")
    }

    /// An unknown id among several refuses the whole revocation before any connection is revoked.
    @Test func revokeChecksEveryIdBeforeRevokingAny() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run(
            ["revoke", "nonexist", "acme-key", "ghost", "nonexist"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "tokentop: no connections named nonexist, ghost in \(sandbox.database); nothing was revoked; "
                + "`tokentop list` shows the ids\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.first { $0["id"] as? String == "acme-key" }?["status"] as? String == "static")
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["action"] as? String } == ["import"], "no revocation was tried")
    }

    /// The same for refresh: checking first is friendlier than refreshing some and failing on the typo.
    @Test func refreshChecksEveryIdBeforeRefreshingAny() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run(["refresh", "acme-alice", "typo"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "tokentop: no connection named typo in \(sandbox.database); nothing was refreshed; "
                + "`tokentop list` shows the ids\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        let show = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(object["failures"] as? Int == 0, "acme-alice was not refreshed (its endpoint is a closed port)")
        #expect(object["status"] as? String == "healthy")
    }

    /// An id given twice is acted on once: one line, one audit entry.
    @Test func aRepeatedIdIsTakenOnce() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let refresh = try Binary.run(["refresh", "acme-alice", "acme-alice"], environment: sandbox.environment)
        #expect(refresh.status == 1, "its endpoint is a closed port")
        #expect(refresh.stderr.components(separatedBy: "acme-alice: refresh failed").count == 2, "\(refresh.stderr)")
        let revoke = try Binary.run(["revoke", "acme-key", "acme-key"], environment: sandbox.environment)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        #expect(revoke.stdout.split(separator: "\n").count == 1, "\(revoke.stdout)")
        #expect(revoke.stdout.hasPrefix("acme-key: revoked here only"))
        #expect(revoke.stderr.split(separator: "\n").count == 1, "one warning: \(revoke.stderr)")
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["action"] as? String } == ["import", "refresh", "revoke"])
        let show = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(object["failures"] as? Int == 1)
    }

    /// A 0-byte file is no store: commands that only read or act on what is stored say so and leave it as it is
    /// (size, mode, no sidecar files); import, which creates stores, still fills it.
    @Test func anEmptyFileIsNotAStoreForReadingCommands() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let empty = try sandbox.write("empty.sqlite3", "")
        _ = chmod(empty, 0o644)
        let message =
            "tokentop: \(empty) is empty (0 bytes), not a tokentop store; `tokentop import FILE --db \(empty)` fills "
            + "it, or name another file with --db; nothing was changed\n"
        let commands = [
            ["list"], ["show", "x"], ["refresh", "x"], ["revoke", "x"], ["reauth", "x"], ["audit"], ["export"],
            ["status"], ["rekey"],
        ]
        for command in commands {
            let run = try Binary.run(command + ["--db", empty], environment: sandbox.environment)
            #expect(run.status == Binary.failureStatus(of: command), "\(command)")
            #expect(run.stderr == Binary.failureError(of: command, stderr: message), "\(command): \(run.stderr)")
            #expect(run.stdout == Binary.failureOutput(of: command, stderr: message), "\(command): \(run.stdout)")
            let attributes = try FileManager.default.attributesOfItem(atPath: empty)
            #expect(attributes[.size] as? Int == 0, "\(command)")
            #expect(attributes[.posixPermissions] as? Int == 0o644, "\(command)")
            for suffix in ["-wal", "-shm", "-journal"] {
                #expect(!FileManager.default.fileExists(atPath: empty + suffix), "\(command) \(suffix)")
            }
        }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let imported = try Binary.run(["import", file, "--db", empty], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let list = try Binary.run(["list", "--db", empty], environment: sandbox.environment)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("acme-key"))
        // Once it is a store, its mode is made private.
        let mode = try FileManager.default.attributesOfItem(atPath: empty)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// A file that is not a tokentop store keeps its mode, whatever names it (a symlink too), and a pipe (as a
    /// device would be) is refused before SQLite writes anything beside it.
    @Test func aFileThatIsNoStoreKeepsItsModeAndAPipeIsRefused() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let text = try sandbox.write("notes.txt", "hello\n")
        let other = sandbox.root.appendingPathComponent("other.db").path
        let made = try Binary.run(
            executable: "/usr/bin/env",
            ["python3", "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('CREATE TABLE foo (x)')", other])
        #expect(made.status == 0, "\(made.stderr)")
        let link = sandbox.root.appendingPathComponent("link.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: text)
        for (named, file) in [(text, text), (other, other), (link, text)] {
            _ = chmod(file, 0o644)
            for command in [["list"], ["status"], ["import", "-"]] {
                let run = try Binary.run(command + ["--db", named], environment: sandbox.environment, stdin: Data())
                #expect(run.status == Binary.failureStatus(of: command), "\(command) \(named): \(run.stderr)")
                let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
                #expect(mode == 0o644, "\(command) \(named) changed the mode of \(file)")
            }
        }
        let pipe = sandbox.root.appendingPathComponent("pipe.db").path
        #expect(mkfifo(pipe, 0o666) == 0)
        let run = try Binary.run(["list", "--db", pipe], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: cannot open the database \(pipe): it is not a regular file (a device, a pipe or a "
                + "socket); name a file with --db or TOKENTOP_DB; nothing was changed\n")
        #expect(!FileManager.default.fileExists(atPath: pipe + "-journal"))
    }

    /// A store path the user named (`--db`, `TOKENTOP_DB`) whose directory is missing is a typo, not a new store:
    /// the commands that create stores refuse it by name and create nothing, not the directory, the store or the
    /// key file. Only the default database gets its directories made.
    @Test func aNamedStoreInAMissingDirectoryIsRefusedAndNothingIsCreated() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let missing = sandbox.root.appendingPathComponent("typo/dir").path
        let named = missing + "/x.db"
        let message =
            "tokentop: cannot create the database \(named): its directory \(missing) does not exist; tokentop "
            + "creates directories only for its default database; check the path, or create the directory with "
            + "`mkdir -p -m 700 \(missing)`; nothing was created\n"
        var byVariable = sandbox.environment
        byVariable["TOKENTOP_DB"] = named
        let typo = sandbox.root.appendingPathComponent("typo").path
        let runs = [
            ("import --db", ["import", file, "--db", named], sandbox.environment),
            ("import, TOKENTOP_DB", ["import", file], byVariable),
            ("migrate --db", ["migrate", "--db", named], sandbox.environment),
        ]
        for (label, arguments, environment) in runs {
            let run = try Binary.run(arguments, environment: environment)
            #expect(run.status == 1, "\(label)")
            #expect(run.stderr == message, "\(label): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(label)")
            #expect(!FileManager.default.fileExists(atPath: typo), "\(label)")
            #expect(!FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("config").path))
        }
        // The default database still gets its directories, as before; restoring its export is refused as well.
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(FileManager.default.fileExists(atPath: sandbox.database))
        let export = try Binary.run(["export"], environment: sandbox.environment)
        #expect(export.status == 0, "\(export.stderr)")
        let restore = try Binary.run(
            ["import", "-", "--db", named], environment: sandbox.environment, stdin: Data(export.stdout.utf8))
        #expect(restore.status == 1)
        #expect(restore.stderr == message, "\(restore.stderr)")
        #expect(!FileManager.default.fileExists(atPath: typo))
    }
}
