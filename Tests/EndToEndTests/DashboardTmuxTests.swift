import Foundation
import Testing

/// The real binary in a real terminal: tmux types the keys and reads the screen.
@Suite(.serialized)
struct DashboardTmuxTests {
    @Test func demoDashboardLivesUpToItsKeys() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // Tall enough for all five groups of the demo at once.
        let tmux = try Tmux(height: 60, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo", "Enter")

        // Five group headers.
        var screen = try await tmux.wait(timeout: 20) { $0.contains("Workspace") && $0.contains("Delegated") }
        for header in ["User", "Org", "Delegated", "Workspace", "Bot"] {
            #expect(screen.contains(header), "group header \(header) on screen:\n\(screen)")
        }
        #expect(screen.contains("acme-bob"))

        // A countdown that changes between two captures.
        let first = try #require(Self.countdown(of: "acme-bob", in: screen), "no countdown for acme-bob:\n\(screen)")
        try await Task.sleep(for: .seconds(2.2))
        screen = try tmux.capture()
        let second = try #require(Self.countdown(of: "acme-bob", in: screen))
        #expect(first != second, "countdown did not tick: \(first) then \(second)")

        // `r` refreshes the row under the cursor: move to acme-bob first.
        try tmux.send("/")
        try tmux.send("acme-bob", literal: true)
        try tmux.send("Enter")
        screen = try await tmux.wait { Self.row(of: "acme-bob", in: $0) != nil && !$0.contains("acme-alice") }
        try tmux.send("r")
        screen = try await tmux.wait(timeout: 10) { $0.contains("acme-bob") && $0.contains("refreshed") }
        #expect(screen.contains("refreshed"), "no refresh event:\n\(screen)")

        // `x` asks first, naming the connection; `y` revokes.
        try tmux.send("x")
        screen = try await tmux.wait { $0.contains("Revoke acme-bob") }
        #expect(screen.contains("Revoke acme-bob"), "no confirmation:\n\(screen)")
        try tmux.send("y")
        screen = try await tmux.wait { Self.row(of: "acme-bob", in: $0)?.contains("revoked") == true }
        #expect(Self.row(of: "acme-bob", in: screen)?.contains("revoked") == true, "not revoked:\n\(screen)")

        // `q` leaves the terminal as it was: the shell answers, with echo back on.
        try tmux.send("Escape")
        try tmux.send("q")
        try tmux.send("echo back-$((40+2))", literal: true)
        try tmux.send("Enter")
        screen = try await tmux.wait { $0.contains("back-42") }
        #expect(screen.contains("echo back-$((40+2))"), "typed text not echoed:\n\(screen)")
        #expect(screen.contains("back-42"))
        #expect(!screen.contains("Workspace"), "dashboard still on screen:\n\(screen)")
    }

    @Test func iExplainsTheIdentityModelAndStaticKeysShowTheirProbe() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(width: 80, height: 24, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-alice") }
        // A static key: filter to it, and its row shows its age and, once probed, the probe's mark.
        try tmux.send("/")
        try tmux.send("vandelay-key", literal: true)
        try tmux.send("Enter")
        screen = try await tmux.wait(timeout: 10) {
            Self.row(of: "vandelay-key", in: $0)?.contains("static ✓") == true
        }
        let row = try #require(Self.row(of: "vandelay-key", in: screen), "no vandelay-key row:\n\(screen)")
        #expect(row.contains("■ static ✓") && row.contains("41d old"), "row: \(row)")
        try tmux.send("i")
        // Until its last line is drawn: a capture between the first and the last once caught the title alone.
        screen = try await tmux.wait { $0.contains("Identity models") && $0.contains("enforces") }
        #expect(screen.contains("Identity models · vandelay-key is Org"), "no explainer:\n\(screen)")
        #expect(screen.contains("[Org]") && screen.contains("Delegated") && screen.contains("Workspace"))
        #expect(screen.contains("enforces"))
        try tmux.send("G")
        screen = try await tmux.wait { $0.contains("Examples") }
        #expect(screen.contains("Stripe API"), "not scrolled to the end:\n\(screen)")
        try tmux.send("Escape")
        screen = try await tmux.wait { !$0.contains("Identity models") }
        #expect(Self.row(of: "vandelay-key", in: screen) != nil, "not back on the list:\n\(screen)")
        try tmux.send("Escape")
        try tmux.send("q")
    }

    /// A terminal type that cannot place the cursor (TERM=dumb) gets a message and an exit status, not a screen
    /// with a header line; an unknown type gets its own message. Both are refused before anything is created: no
    /// database, no demo database, no key file.
    @Test func aTerminalThatCannotPlaceTheCursorIsRefused() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(environment: sandbox.environment, directory: sandbox.root)
        let database = sandbox.root.appendingPathComponent("fresh.sqlite3").path
        for (term, message) in [
            ("dumb", "the terminal type 'dumb' (from TERM) cannot move the cursor, which the dashboard needs"),
            ("no-such-terminal-type", "cannot open the terminal as type 'no-such-terminal-type' (from TERM)"),
        ] {
            for command in ["demo --db '\(database)'", "--db '\(database)'"] {
                // A marker of this run's own: the last run's `exit=1` may still be on the screen until `clear` runs.
                let marker = "exit-\(UUID().uuidString.prefix(8))"
                try tmux.send("clear; TERM=\(term) \(Binary.path) \(command); echo \"\(marker)=$?\"", "Enter")
                // The marker and a digit: the typed command line shows `MARKER=$?` before it has run.
                let screen = try await tmux.wait(timeout: 20) {
                    $0.range(of: marker + "=[0-9]", options: .regularExpression) != nil
                }
                #expect(screen.replacingOccurrences(of: "\n", with: "").contains(message), "\(term):\n\(screen)")
                #expect(screen.contains("\(marker)=1"), "\(term):\n\(screen)")
                #expect(!screen.contains("connections"), "\(term) drew a dashboard:\n\(screen)")
                #expect(!FileManager.default.fileExists(atPath: database), "\(term) \(command) created the database")
                #expect(!FileManager.default.fileExists(atPath: sandbox.keyFile), "\(term) \(command) made a key")
            }
        }
    }

    /// In the C locale (a bare container, an SSH session that sends no LANG) the dashboard draws its symbols in
    /// ASCII: every status symbol and tree branch was a question mark.
    @Test func theCLocaleGetsASCIISymbols() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(
            environment: sandbox.environment.merging(["LANG": "C", "LC_ALL": "C"]) { $1 }, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo; echo \"exit\"=$?", "Enter")
        let screen = try await tmux.wait(timeout: 30) { $0.contains("contoso-kim-graph") }
        let header = screen.split(separator: "\n").first { $0.contains("connections") }.map(String.init) ?? ""
        #expect(header.contains(" healthy") && !header.contains("?"), "\(screen)")
        #expect(Self.row(of: "acme-alice", in: screen)?.hasPrefix(" * healthy") == true, "\(screen)")
        #expect(screen.contains("`- contoso-kim-graph"), "\(screen)")
        try tmux.send("q")
        let after = try await tmux.wait { DatabaseFaultTests.exitStatus(in: $0) != nil }
        #expect(DatabaseFaultTests.exitStatus(in: after) == 0, "\(after)")
    }

    /// A dashboard whose terminal goes away while SIGHUP is ignored (`nohup`, `trap '' HUP`) ends all the same:
    /// every read of the gone terminal failed at once, and it read on at a full core, for ever.
    @Test func aDashboardWhoseTerminalGoesAwayEndsEvenWithSIGHUPIgnored() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(environment: sandbox.environment, directory: sandbox.root)
        let pidFile = sandbox.root.appendingPathComponent("dashboard.pid").path
        let database = sandbox.root.appendingPathComponent("demo.sqlite3").path
        // A job of the interactive shell, as a user starts it; the shell ignores SIGHUP, and so does the job.
        try tmux.send("trap '' HUP; sh -c 'echo $$ > \(pidFile); exec \(Binary.path) demo --db \(database)'", "Enter")
        let screen = try await tmux.wait(timeout: 20) { $0.contains("connections") && $0.contains("acme-bob") }
        #expect(screen.contains("acme-bob"), "no dashboard:\n\(screen)")
        let ended = try await Self.closeTerminal(tmux, pidFile: pidFile, waiting: 20)
        #expect(ended, "the dashboard still ran 20 s after its terminal went away")
    }

    /// Kills the terminal (the tmux server, its window with it) and waits up to `seconds` for the process whose id
    /// the shell wrote to `pidFile` to end; kills it if it does not. Returns whether it ended by itself.
    static func closeTerminal(_ tmux: Tmux, pidFile: String, waiting seconds: Double) async throws -> Bool {
        let text = try String(contentsOfFile: pidFile, encoding: .utf8)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        try Tmux.tmux(["-S", tmux.socket, "kill-server"])
        let deadline = Date().addingTimeInterval(seconds)
        while kill(pid, 0) == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(100)) }
        guard kill(pid, 0) == 0 else { return true }
        kill(pid, SIGKILL)
        return false
    }

    /// A demo whose terminal is closed (a killed tmux session, a dropped SSH connection) removes its throwaway
    /// directory as `q` does. The closing terminal sends SIGHUP twice, from the shell and from the kernel: the second
    /// arrived after the dashboard had put back the default action, and ended the process before its cleanup.
    @Test func aDemoWhoseTerminalClosesRemovesItsDirectory() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let temporary = sandbox.root.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        let pidFile = sandbox.root.appendingPathComponent("demo.pid").path
        for _ in 0..<3 {
            let tmux = try Tmux(
                environment: sandbox.environment.merging(["TMPDIR": temporary.path]) { $1 }, directory: sandbox.root)
            // A job of the interactive shell, as a user starts it.
            try tmux.send("sh -c 'echo $$ > \(pidFile); exec \(Binary.path) demo'", "Enter")
            let screen = try await tmux.wait(timeout: 30) { $0.contains("acme-bob") }
            #expect(screen.contains("acme-bob"), "no dashboard:\n\(screen)")
            let made = try FileManager.default.contentsOfDirectory(atPath: temporary.path)
            #expect(made.count == 1 && made[0].hasPrefix("tokentop-demo-"), "\(made)")
            let ended = try await Self.closeTerminal(tmux, pidFile: pidFile, waiting: 30)
            #expect(ended, "the demo still ran 30 s after its terminal closed")
            #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path) == [], "left behind")
        }
    }

    /// A dashboard whose database file is deleted under it stops refreshing and says so on screen; quitting it then
    /// fails as the daemon does, with the problem on stderr once the terminal is back.
    @Test func aDashboardWhoseDatabaseFileIsDeletedExitsOneAndSaysWhy() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let tmux = try Tmux(width: 200, height: 50, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-alice") }
        #expect(screen.contains("acme-alice"), "no dashboard:\n\(screen)")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sandbox.database + suffix) }
        screen = try await tmux.wait(timeout: 20) { $0.contains("was deleted or moved") }
        #expect(screen.contains("! database problem: the database file"), "no notice:\n\(screen)")
        try tmux.send("q")
        let after = try await tmux.wait(timeout: 40) { $0.contains("exit=") }
        func squeezed(_ text: String) -> String { text.filter { $0 != " " && $0 != "\n" } }
        #expect(after.contains("exit=1"), "\(after)")
        #expect(
            squeezed(after).contains(
                squeezed("tokentop: database problem: the database file \(sandbox.database) was deleted or moved")),
            "\(after)")
    }

    /// `demo --db` keeps its database for reading, and says as it ends that nothing there renews any more: its
    /// sandbox providers ended with the demo.
    @Test func aKeptDemoDatabaseIsForReadingAndTheDemoSaysSo() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let database = sandbox.root.appendingPathComponent("kept.sqlite3").path
        let tmux = try Tmux(width: 200, height: 50, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo --db '\(database)'; echo \"exit\"=$?", "Enter")
        let screen = try await tmux.wait(timeout: 20) { $0.contains("Workspace") }
        #expect(screen.contains("Workspace"), "no dashboard:\n\(screen)")
        try tmux.send("q")
        let after = try await tmux.wait(timeout: 40) { $0.contains("exit=0") }
        // Compared without spaces and line breaks: the terminal wraps the note where it likes.
        func squeezed(_ text: String) -> String { text.filter { $0 != " " && $0 != "\n" } }
        #expect(after.contains("exit=0"), "\(after)")
        #expect(
            squeezed(after).contains(
                squeezed(
                    "tokentop: note: the demo's database stays in \(database) for list, show, audit and export; its "
                        + "sandbox providers ended with the demo, so in the dashboard or the daemon its connections "
                        + "can no longer renew")), "\(after)")
        let list = try Binary.run(["list", "--json", "--db", database], environment: sandbox.environment)
        #expect(list.status == 0, "\(list.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(rows.count == 29)
        #expect(try Binary.run(["audit", "--verify", "--db", database], environment: sandbox.environment).status == 0)
    }

    @Test func smallTerminalGetsAMessageAndResizeRestores() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let tmux = try Tmux(width: 70, height: 20, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("80") }
        #expect(screen.contains("80×24") || screen.contains("80x24"), "no size message:\n\(screen)")
        try tmux.resize(width: 120, height: 40)
        screen = try await tmux.wait { $0.contains("Workspace") }
        #expect(screen.contains("Workspace"))
        try tmux.send("q")
    }

    /// Below 80×24 the message hides the rows, so keys act on none of them: `x` `y` does not revoke the cursor row,
    /// `r` does not refresh it, `a` and Enter start nothing, and the audit log gets no entry.
    @Test func keysOnASmallTerminalActOnNothing() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let database = sandbox.root.appendingPathComponent("demo.sqlite3").path
        let tmux = try Tmux(environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo --db '\(database)'", "Enter")
        var screen = try await tmux.wait(timeout: 20) { Self.row(of: "acme-alice", in: $0) != nil }
        // A revoke dialog open as the terminal shrinks, answered in the same breath: the answer is judged small.
        try tmux.send("x")
        _ = try await tmux.wait { $0.contains("Revoke") }
        try tmux.resize(width: 60, height: 20, thenKeys: ["y"])
        screen = try await tmux.wait { $0.contains("now 60×20") }
        #expect(screen.contains("tokentop needs at least 80×24 (now 60×20)"), "no size message:\n\(screen)")
        for key in ["x", "y", "r", "a", "Enter", "x", "Enter", "y"] { try tmux.send(key) }
        // Keys still in the terminal's buffer when the size comes back would be read at the new size.
        try await Task.sleep(for: .seconds(1.5))
        try tmux.resize(width: 120, height: 40)
        screen = try await tmux.wait { Self.row(of: "acme-alice", in: $0) != nil }
        let row = try #require(Self.row(of: "acme-alice", in: screen), "no acme-alice row:\n\(screen)")
        #expect(!row.contains("revok") && !row.contains("refreshing"), "acted on the hidden row: \(row)")
        #expect(!screen.contains("Re-auth"), "a dialog opened blind:\n\(screen)")
        // The revoke dialog opened before the shrink waits, unanswered; Esc closes it.
        #expect(screen.contains("Revoke"), "the open dialog was answered blind:\n\(screen)")
        try tmux.send("Escape")
        screen = try await tmux.wait { !$0.contains("Revoke") }
        #expect(screen.contains("STATUS"), "not on the list:\n\(screen)")
        try tmux.send("q")
        let audit = try Binary.run(["audit", "--json", "--db", database], environment: sandbox.environment)
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]], "\(audit.stdout)")
        let acted = entries.filter { ["revoke", "refresh", "reauth"].contains($0["action"] as? String) }
        #expect(acted.isEmpty, "audited: \(acted)")
    }

    static func row(of id: String, in screen: String) -> String? {
        screen.split(separator: "\n").first { $0.contains(" \(id) ") }.map(String.init)
    }

    /// The first countdown-looking word (`45s`, `4m05s`, `1h02m`) on the row of `id`.
    static func countdown(of id: String, in screen: String) -> String? {
        guard let row = row(of: id, in: screen) else { return nil }
        return row.split(separator: " ").map(String.init).first { word in
            word.range(of: #"^\d+(s|m\d\ds|h\d\dm|d\d\dh)$"#, options: .regularExpression) != nil
        }
    }
}
