import Foundation
import Testing
import TokentopTestSupport

/// The shell surface of the real binary: import, list, show, refresh, revoke and their bad inputs.
struct CommandLineTests {
    /// A valid expiry a few years ahead, within the import's ten-year limit whatever year the tests run in.
    static let farFuture = "\(Calendar(identifier: .gregorian).component(.year, from: Date()) + 3)-01-01T00:00:00Z"

    /// Imports ``importFile`` with acme-alice's token already expired, so a refresher acts on it at once (and
    /// fails: its token endpoint is a closed port).
    static func importExpired(into sandbox: Sandbox) throws {
        let file = try sandbox.write(
            "import.json", importFile.replacingOccurrences(of: farFuture, with: "2020-01-01T00:00:00Z"))
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        guard run.status == 0 else { throw OAuthServerFixture.Failure("import failed: \(run.stderr)") }
    }

    static let importFile = """
        {
          "integrations": [
            {"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
             "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}
          ],
          "connections": [
            {"id": "acme-alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
             "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001",
             "expires_at": "\(farFuture)", "granted_scopes": ["read"]},
            {"id": "acme-key", "integration": "acme", "scope": "org", "subject": "org:acme",
             "credential": "api_key", "access_token": "fake-api-key-0001"}
          ]
        }
        """

    @Test func importThenListAndShowWithoutSecrets() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        #expect(list.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        let alice = try #require(array.first { $0["id"] as? String == "acme-alice" })
        #expect(alice["scope"] as? String == "user")
        #expect(alice["status"] as? String == "healthy")
        #expect(alice["credential"] as? String == "oauth2")
        #expect(alice["grant"] as? String == "refresh_token")
        #expect(alice["expires_at"] as? String == Self.farFuture)
        #expect(alice["provider"] as? String == "acme")
        #expect(alice["failures"] as? Int == 0)
        #expect(alice["last_error"] is NSNull)
        #expect(alice["last_refresh_at"] is NSNull)
        let key = try #require(array.first { $0["id"] as? String == "acme-key" })
        #expect(key["status"] as? String == "static")
        #expect(key["grant"] as? String == "none")

        let filtered = try Binary.run(["list", "--scope", "org"], environment: sandbox.environment)
        #expect(filtered.stdout.contains("acme-key") && !filtered.stdout.contains("acme-alice"))

        let show = try Binary.run(["show", "acme-alice"], environment: sandbox.environment)
        #expect(show.status == 0)
        #expect(show.stdout.contains("alice@example.com"))
        #expect(show.stdout.contains("imported"))
        for output in [list.stdout, show.stdout, filtered.stdout, imported.stdout] {
            #expect(!output.contains("fake-access-token-0001"))
            #expect(!output.contains("fake-refresh-token-0001"))
            #expect(!output.contains("fake-client-secret-0001"))
            #expect(!output.contains("fake-api-key-0001"))
        }
        // The database file is private and holds no secret in plain text.
        let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.database)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        for suffix in ["", "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: sandbox.database + suffix))) ?? Data()
            #expect(bytes.range(of: Data("fake-refresh-token-0001".utf8)) == nil)
            #expect(bytes.range(of: Data("fake-client-secret-0001".utf8)) == nil)
        }
    }

    @Test func malformedImportNamesFileEntryAndFieldAndWritesNothing() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let bad = Self.importFile.replacingOccurrences(of: #""scope": "org""#, with: #""scope": "galaxy""#)
        let file = try sandbox.write("bad.json", bad)
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(run.status != 0)
        #expect(run.stderr.contains("bad.json"))
        #expect(run.stderr.contains("connections[1]"))
        #expect(run.stderr.contains("scope"))
        #expect(run.stderr.split(separator: "\n").count <= 2, "one clear message:\n\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database), "a malformed file creates no database")
    }

    /// A file refused only against the store (a connection names an integration neither it nor the database
    /// holds) leaves no database and no key file where the import would have created them, and an empty file it
    /// would have filled stays empty; a store that existed keeps its contents and records the refusal.
    @Test func anImportRefusedByTheStoreLeavesNothingNew() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let orphan = Self.importFile.replacingOccurrences(
            of: #""integration": "acme", "scope": "org""#, with: #""integration": "globex", "scope": "org""#)
        let file = try sandbox.write("orphan.json", orphan)
        func refusal(_ database: String) -> String {
            "tokentop: \(file): connections[1] (id \"acme-key\"): integration: no integration \"globex\" in the file "
                + "or in the database \(database); add it to \"integrations\"\n"
        }
        let database = sandbox.root.appendingPathComponent("new.sqlite3").path
        let refused = try Binary.run(["import", file, "--db", database], environment: sandbox.environment)
        #expect(refused.status == 1)
        #expect(refused.stderr == refusal(database), "\(refused.stderr)")
        for path in [database, database + "-wal", database + "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was left behind")
        }
        // The key file it made stays: another process may have sealed a store with it meanwhile.
        #expect(FileManager.default.fileExists(atPath: sandbox.keyFile))

        let touched = sandbox.root.appendingPathComponent("touched.sqlite3").path
        #expect(FileManager.default.createFile(atPath: touched, contents: nil))
        let filled = try Binary.run(["import", file, "--db", touched], environment: sandbox.environment)
        #expect(filled.status == 1)
        #expect(filled.stderr == refusal(touched), "\(filled.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: touched)[.size] as? Int == 0)

        let good = try sandbox.write("import.json", Self.importFile)
        #expect(try Binary.run(["import", good, "--db", database], environment: sandbox.environment).status == 0)
        let again = try Binary.run(["import", file, "--db", database], environment: sandbox.environment)
        #expect(again.status == 1)
        #expect(again.stderr == refusal(database), "\(again.stderr)")
        #expect(FileManager.default.fileExists(atPath: sandbox.keyFile))
        let list = try Binary.run(["list", "--db", database], environment: sandbox.environment)
        #expect(list.status == 0 && list.stdout.contains("acme-alice") && list.stdout.contains("acme-key"))
        let audit = try Binary.run(["audit", "--db", database], environment: sandbox.environment).stdout
        #expect(audit.contains("import  \(file)  failed"), "\(audit)")
    }

    @Test(arguments: [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["list", "--colour"], "unknown option '--colour'"),
        (["list", "--scope", "galaxy"], "unknown scope 'galaxy'"),
        (["show"], "'show' needs one connection id"),
        (["refresh"], "'refresh' needs at least one connection id"),
        // What the user typed is spelled out when it holds a line break or a control character: one line still.
        (["show", "a\nb", "c"], #"'show' takes one connection id, not "a\nb c""#),
        (["fro\u{1B}[2Jb"], #"unknown command "fro\u001b[2Jb""#),
        (["list", "--scope", "org\r"], #"unknown scope "org\r""#),
        (
            ["list", "--store", "mysql://u:fake-pw-0001@127.0.0.1/y"],
            "--store mysql://u@127.0.0.1/y is not a PostgreSQL URL"
        ),
    ])
    func badCommandLinesExitTwoWithOneLine(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        // The message and the pointer to the help, a line each.
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.first?.contains(message) == true, "\(run.stderr)")
        #expect(lines.dropFirst() == ["Run 'tokentop --help' for usage."], "\(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    /// A switch is on by being given, so `--json=no` is refused rather than read as `--json`.
    @Test(arguments: [
        ["list", "--json=no"], ["list", "--json="], ["show", "acme-key", "--json=false"], ["audit", "--verify=0"],
        ["reauth", "acme-alice", "--no-browser=yes"], ["daemon", "--readonly=false"], ["help", "--roff=1"],
        ["--help=list"], ["--version=2"], ["providers", "--json=yes"],
    ])
    func switchesRefuseAnInlineValue(arguments: [String]) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let written = try #require(arguments.first { $0.contains("=") })
        let name = String(written.prefix { $0 != "=" })
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("tokentop: \(name) takes no value; write \(name) alone\n"), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    /// Options that take a value still take it after `=`.
    @Test func valueOptionsStillTakeAnInlineValue() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let run = try Binary.run(["list", "--scope=org", "--json"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(array.map { $0["id"] as? String } == ["acme-key"])
    }

    @Test func dashboardWithoutATerminalSaysSo() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run([], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains("terminal"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test func unreadableAndBogusDatabasesGetOneLine() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let bogus = try sandbox.write("bogus.sqlite3", String(repeating: "this is not a database ", count: 400))
        let run = try Binary.run(["list", "--db", bogus], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains("bogus.sqlite3"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)

        let missing = try Binary.run(
            ["import", sandbox.root.appendingPathComponent("nope.json").path],
            environment: sandbox.environment)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.json"))
    }

    @Test func unknownConnectionIsAnError() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        for command in [["show", "ghost"], ["refresh", "ghost"], ["revoke", "ghost"], ["reauth", "ghost"]] {
            let run = try Binary.run(command, environment: sandbox.environment)
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr.contains("no connection named ghost"), "\(command): \(run.stderr)")
        }
    }

    @Test func refreshAgainstADeadEndpointIsARecordedFailure() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        _ = try Binary.run(["import", file], environment: sandbox.environment)
        let run = try Binary.run(["refresh", "acme-alice"], environment: sandbox.environment)
        #expect(run.status == 1)
        // A failure goes to stderr, as every command's does; stdout keeps the results.
        #expect(run.stderr.contains("tokentop: acme-alice: refresh failed: network_error"), "\(run.stderr)")
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        let show = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "failing")
        #expect(object["failures"] as? Int == 1)
        #expect((object["last_error"] as? [String: Any])?["error"] as? String == "network_error")
        #expect(object["refresh_fingerprint"] as? String != nil, "the stored token stays")
    }

    @Test func providersListsTheCatalog() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(["providers", "--json"], environment: sandbox.environment)
        #expect(run.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        #expect(array.count >= 25)
        let github = try #require(array.first { $0["id"] as? String == "github-oauth-app" })
        #expect((github["quirks"] as? [String: Any])?["form_encoded_unless_accept_json"] as? Bool == true)
        let table = try Binary.run(["providers"], environment: sandbox.environment)
        #expect(table.stdout.split(separator: "\n").first?.hasPrefix("ID") == true)
    }

    @Test func readingCommandsNeverCreateADatabase() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        for command in [["list"], ["show", "x"], ["refresh", "x"], ["audit"], ["rekey"]] {
            let run = try Binary.run(command, environment: sandbox.environment)
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr.contains("there is no database at \(sandbox.database)"), "\(command): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func anotherProgramsDatabaseIsLeftAlone() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let other = sandbox.root.appendingPathComponent("other.sqlite3").path
        let make = Child()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        make.arguments = [
            "python3", "-c", "import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute('CREATE TABLE foo (x)')", other,
        ]
        try make.run()
        _ = await make.exited()
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        let file = try sandbox.write("import.json", Self.importFile)
        let run = try Binary.run(["import", file, "--db", other], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains("another program's SQLite database (it holds foo)"), "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == before)
    }

    @Test func importReadsStandardInputAndRefusesControlCharacters() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let piped = try Binary.run(
            ["import", "-"], environment: sandbox.environment, stdin: Data(Self.importFile.utf8))
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(try Binary.run(["list"], environment: sandbox.environment).stdout.contains("acme-alice"))
        #expect(piped.stdout.hasPrefix("imported standard input into "), "\(piped.stdout)")
        let shown = try Binary.run(["show", "acme-alice"], environment: sandbox.environment).stdout
        #expect(shown.contains("imported from standard input"), "\(shown)")
        let hostile = Self.importFile.replacingOccurrences(of: "alice@example.com", with: "alice\\u001b[31m")
        let run = try Binary.run(["import", "-"], environment: sandbox.environment, stdin: Data(hostile.utf8))
        #expect(run.status == 1)
        // Named as standard input, not `-`.
        #expect(run.stderr.hasPrefix("tokentop: standard input: connections[0]"), "\(run.stderr)")
        #expect(run.stderr.contains("subject: contains the control or invisible character U+001B"), "\(run.stderr)")
        #expect(!run.stderr.contains("\u{1b}"))
    }

    @Test func importRefusesStandardInputOverTheLimitAndWritesNothing() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(
            ["import", "-"], environment: sandbox.environment,
            stdin: Data(count: (64 << 20) + 1))
        #expect(run.status == 1)
        #expect(
            run.stderr.contains(
                "standard input: it holds more than the 64 MiB an import file may be; nothing was imported"),
            "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func aFullDiskIsAnErrorNotASuccess() async throws {
        let process = Child()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["--version"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: "/dev/full"))
        let err = Pipe()
        process.standardError = err
        try process.run()
        #expect(await process.exited() == 1)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("cannot write the output"))
    }

    /// A monitor reads exit 1 from `status` as WARNING: a verdict that could not be written is UNKNOWN (3), whatever
    /// the tokens' state (here OK).
    @Test func aStatusThatCannotBeWrittenIsUnknown() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        try #require(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        #expect(try Binary.run(["status"], environment: sandbox.environment).status == 0)
        let run = try Binary.run(["status"], environment: sandbox.environment, stdout: "/dev/full")
        #expect(run.status == 3)
        #expect(run.stderr.contains("cannot write the output"), "\(run.stderr)")
    }

    /// The manual page is longer than stdout's buffer, so its first part fails while it is still being written and
    /// the last flush finds an empty buffer: the error must not be lost in between.
    @Test func aFullDiskUnderALongOutputIsAnErrorToo() throws {
        let run = try Binary.run(["help", "--roff"], environment: [:], stdout: "/dev/full")
        #expect(run.status == 1)
        #expect(run.stderr.contains("cannot write the output"), "\(run.stderr)")
    }

    /// A token with a refresh token, past its expiry and renewed by nobody (no daemon runs): DESIGN.md's `expired`
    /// is for what nothing can renew, so every command calls it `expiring` (then `failing` once a refresh of it has
    /// failed), marks it overdue in JSON, and `status` warns with exit 1 rather than calling for a human.
    @Test func aRenewableTokenPastItsExpiryIsOverdueAndAWarning() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try Self.importExpired(into: sandbox)
        func statuses() throws -> (status: Binary.Run, listed: [String: Any]?, shown: [String: Any]?, table: String) {
            let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
            let array = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]]
            let show = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
            return (
                try Binary.run(["status"], environment: sandbox.environment),
                array?.first { $0["id"] as? String == "acme-alice" },
                try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any],
                try Binary.run(["list", "--status", "expired"], environment: sandbox.environment).stdout
            )
        }
        let hint = "1 overdue (past expiry, not renewed: no daemon or dashboard refreshes this store)"
        let fresh = try statuses()
        #expect(fresh.status.status == 1)
        #expect(fresh.status.stdout == "WARNING: 2 connections: 1 expiring, 1 static; \(hint)\n")
        #expect(fresh.listed?["status"] as? String == "expiring")
        #expect(fresh.listed?["overdue"] as? Bool == true)
        #expect(fresh.shown?["status"] as? String == "expiring")
        #expect(fresh.shown?["overdue"] as? Bool == true)
        #expect(!fresh.table.contains("acme-alice"), "not listed as expired: \(fresh.table)")
        // Its refresh fails against a dead endpoint: failing, still overdue, still no human needed.
        let refresh = try Binary.run(["refresh", "acme-alice"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        let failed = try statuses()
        #expect(failed.status.status == 1)
        #expect(failed.status.stdout == "WARNING: 2 connections: 1 failing, 1 static; \(hint)\n")
        #expect(failed.listed?["status"] as? String == "failing")
        #expect(failed.listed?["overdue"] as? Bool == true)
        #expect(failed.shown?["status"] as? String == "failing")
        // The static key never expires: not overdue.
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(array.first { $0["id"] as? String == "acme-key" }?["overdue"] as? Bool == false)
    }

    /// A token exchange child imported without a token, never minted (no daemon runs): it holds no token at all,
    /// which the dashboard shows as `expiring` (a refresh is due); `status` warns rather than saying OK.
    @Test func aDerivedTokenNeverMintedIsOverdueAndAWarning() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write(
            "import.json",
            """
            {"integrations": [{"id": "wonka", "provider": "wonka", "token_url": "http://127.0.0.1:9/token",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0005"}],
             "connections": [
              {"id": "leo", "integration": "wonka", "scope": "user", "subject": "leo@example.com",
               "access_token": "fake-at-0005", "refresh_token": "fake-rt-0005", "expires_in": 3600},
              {"id": "leo-ledger", "integration": "wonka", "scope": "delegated", "subject": "leo@example.com",
               "grant": "token_exchange", "parent": "leo"}]}
            """)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let status = try Binary.run(["status"], environment: sandbox.environment)
        #expect(status.status == 1)
        #expect(
            status.stdout
                == "WARNING: 2 connections: 1 healthy, 1 expiring; 1 overdue (past expiry or never minted, not "
                + "renewed: no daemon or dashboard refreshes this store)\n")
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        let child = try #require(array.first { $0["id"] as? String == "leo-ledger" })
        #expect(child["status"] as? String == "expiring")
        #expect(child["overdue"] as? Bool == true)
        #expect(array.first { $0["id"] as? String == "leo" }?["overdue"] as? Bool == false)
    }

    /// A token nothing can renew (no refresh token), past its expiry: `expired` in DESIGN.md's sense, exit 2.
    @Test func aTokenNothingCanRenewPastItsExpiryIsExpiredAndCritical() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write(
            "import.json",
            Self.importFile.replacingOccurrences(of: Self.farFuture, with: "2020-01-01T00:00:00Z")
                .replacingOccurrences(of: "\"refresh_token\": \"fake-refresh-token-0001\",", with: ""))
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let status = try Binary.run(["status"], environment: sandbox.environment)
        #expect(status.status == 2)
        #expect(
            status.stdout == "CRITICAL: 2 connections: 1 expired, 1 static; a human must act on acme-alice (expired)\n")
        let shown = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["status"] as? String == "expired")
        #expect(object["overdue"] as? Bool == false)
    }

    /// `status` takes `--lead` as the refreshers do, over the configuration's `lead_seconds`: the window decides
    /// how soon a token nothing can renew warns.
    @Test func statusTakesTheLeadWindowFromTheFlagOverTheFile() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // Twenty minutes left, and no refresh token: nothing renews it.
        let expiry = ISO8601DateFormatter().string(from: Date().addingTimeInterval(1200))
        let file = try sandbox.write(
            "import.json",
            Self.importFile.replacingOccurrences(of: Self.farFuture, with: expiry)
                .replacingOccurrences(of: "\"refresh_token\": \"fake-refresh-token-0001\",", with: ""))
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let plain = try Binary.run(["status"], environment: sandbox.environment)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout == "OK: 2 connections: 1 healthy, 1 static\n")
        let warning =
            "WARNING: 2 connections: 1 healthy, 1 static; 1 expires within 30m00s with nothing to renew it "
            + "(acme-alice)\n"
        for arguments in [["status", "--lead", "1800"], ["status", "--lead=1800"]] {
            let run = try Binary.run(arguments, environment: sandbox.environment)
            #expect(run.status == 1, "\(arguments): \(run.stderr)")
            #expect(run.stdout == warning)
        }
        let config = try sandbox.write("config.json", #"{"lead_seconds": 1800}"#)
        let filed = try Binary.run(["status", "--config", config], environment: sandbox.environment)
        #expect(filed.status == 1, "\(filed.stderr)")
        #expect(filed.stdout == warning)
        let flagWins = try Binary.run(
            ["status", "--config", config, "--lead", "300"], environment: sandbox.environment)
        #expect(flagWins.status == 0, "\(flagWins.stderr)")
        #expect(flagWins.stdout == plain.stdout)
        let bad = try Binary.run(["status", "--lead", "5"], environment: sandbox.environment)
        // A check that cannot run is UNKNOWN to its monitor, not exit 2 (CRITICAL).
        #expect(bad.status == 3)
        #expect(bad.stdout == "UNKNOWN: --lead needs a number from 10 to 86400, not '5'\n", "\(bad.stdout)")
        #expect(bad.stderr.isEmpty, "\(bad.stderr)")
        let help = try Binary.run(["help", "status"], environment: sandbox.environment)
        #expect(help.stdout.hasPrefix("Usage: tokentop status [--lead SECONDS]\n"), "\(help.stdout)")
        #expect(help.stdout.contains("\n  --lead SECONDS      the shortest refresh lead window the check assumes"))
    }

    @Test func statusExitCodesFollowMonitoringConventions() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let healthy = try Binary.run(["status"], environment: sandbox.environment)
        #expect(healthy.status == 0)
        #expect(healthy.stdout == "OK: 2 connections: 1 healthy, 1 static\n")
        _ = try Binary.run(["refresh", "acme-alice"], environment: sandbox.environment)
        let failing = try Binary.run(["status"], environment: sandbox.environment)
        #expect(failing.status == 1)
        #expect(failing.stdout == "WARNING: 2 connections: 1 failing, 1 static\n")
        _ = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        // A store it cannot read is UNKNOWN (3), not a warning about the tokens.
        let notAStore = try sandbox.write("notes.txt", String(repeating: "not a database\n", count: 400))
        let unknown = try Binary.run(["status", "--db", notAStore], environment: sandbox.environment)
        #expect(unknown.status == 3, "\(unknown.stderr)")
        #expect(unknown.stdout.hasPrefix("UNKNOWN: \(notAStore) is not a tokentop database"), "\(unknown.stdout)")
        #expect(unknown.stderr.isEmpty, "its one line goes to stdout alone: \(unknown.stderr)")
        let version = try Binary.run(["--version"], environment: sandbox.environment)
        #expect(version.stdout.contains("ncurses 6") && version.stdout.contains("SQLite 3"))
        #expect(version.stdout.contains("OpenSSL 3"))
    }
}
