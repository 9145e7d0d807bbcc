import Foundation
import Testing
import TokentopCore
import TokentopTestSupport

/// Database faults met by the real binary: a file it may read but not write, a writer that holds the lock past the
/// busy timeout, a full disk (a small tmpfs) and a damaged file. Each gives a clear message naming the file, the
/// dashboard keeps running and shows the problem, and nothing is half-written.
@Suite(.serialized)
struct DatabaseFaultTests {
    /// A fresh base64 key, passed in TOKENTOP_KEY so that no key file is involved.
    static func newKey() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }

    static func bytes(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// `list --json`, decoded.
    static func list(_ database: String, environment: [String: String]) throws -> [[String: Any]] {
        let run = try Binary.run(["list", "--json", "--db", database], environment: environment)
        guard run.status == 0 else { throw OAuthServerFixture.Failure("list failed: \(run.stderr)") }
        return try #require(try JSONSerialization.jsonObject(with: run.output) as? [[String: Any]])
    }

    /// Runs `sql` with the sqlite3 shell; it waits up to 10 s for a writer's lock (the shared OAuth server's
    /// database is written by other tests meanwhile, and the shell's default is not to wait at all).
    static func sqlite(_ database: String, _ sql: String) throws -> String {
        let run = try Binary.run(executable: "/usr/bin/sqlite3", ["-cmd", ".timeout 10000", database, sql])
        guard run.status == 0 else { throw OAuthServerFixture.Failure("sqlite3 failed: \(run.stderr)") }
        return run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func quoted(_ words: [String]) -> String {
        words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    }

    /// The status the shell printed after the program, from `echo "exit"=$?`; nil until it did.
    static func exitStatus(in screen: String) -> Int? {
        guard let match = screen.range(of: #"(?m)^exit=\d+"#, options: .regularExpression) else { return nil }
        return Int(screen[match].dropFirst(5))
    }

    // MARK: - Read-only

    @Test func aDatabaseTheUserMayOnlyReadIsNamedAndTheDashboardShowsIt() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let key = Self.newKey()
        // The directory is open to nobody (it creates the -wal and -shm files there); the file is root's, 0644.
        let shared = sandbox.root.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        let database = shared.appendingPathComponent("tokentop.sqlite3").path
        // acme-alice's token has expired, so the dashboard tries to refresh it, and to store that, at once.
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: CommandLineTests.farFuture, with: "2020-01-01T00:00:00Z"))
        let environment = sandbox.environment.merging(["TOKENTOP_KEY": key]) { $1 }
        let imported = try Binary.run(["import", file, "--db", database], environment: environment)
        try #require(imported.status == 0, "\(imported.stderr)")
        let binary = try Unprivileged.copyOfBinary(into: sandbox.root)
        // A home nobody cannot write: no key file, no config, no data directory of its own.
        let home = sandbox.root.appendingPathComponent("root-only")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        for (path, mode) in [(sandbox.root.path, 0o755), (shared.path, 0o1777), (home.path, 0o700), (database, 0o644)] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        let before = try Self.bytes(database)
        let nobody = [
            "TOKENTOP_KEY": key, "HOME": home.path, "XDG_CONFIG_HOME": home.path, "XDG_DATA_HOME": home.path,
            "TERM": "xterm-256color", "LANG": "C.UTF-8",
        ]

        // Reading still works; a refresh is one clear line naming the file and the fix, and exit 1.
        let listed = try Unprivileged.run([binary, "list", "--db", database], environment: nobody)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("acme-alice"))
        let refresh = try Unprivileged.run([binary, "refresh", "acme-alice", "--db", database], environment: nobody)
        #expect(refresh.status == 1)
        #expect(
            refresh.stderr.hasPrefix(
                "tokentop: acme-alice was not refreshed: database problem: cannot write the database \(database) "
                    + "(attempt to write a readonly database); make the file and its directory writable (chmod u+w)"),
            "\(refresh.stderr)")
        #expect(refresh.stderr.split(separator: "\n").count == 1, "\(refresh.stderr)")

        // The dashboard opens, tries the due refresh, keeps running and says why nothing is stored.
        let tmux = try Tmux(width: 250, height: 30, environment: [:], directory: sandbox.root)
        let line = try Unprivileged.command([binary, "--db", database], environment: nobody)
        try tmux.send(Self.quoted(line) + "; echo \"exit\"=$?", literal: true)
        try tmux.send("Enter")
        let notice = " ! database problem: cannot write the database \(database) (attempt to write a readonly database)"
        var screen = try await tmux.wait(timeout: 20) { $0.contains(notice) }
        #expect(screen.contains(notice), "no database notice:\n\(screen)")
        #expect(screen.contains("chmod u+w"))
        #expect(DashboardTmuxTests.row(of: "acme-alice", in: screen) != nil, "rows gone:\n\(screen)")
        // Still running: the header's clock moves on, and the notice stays while the problem lasts.
        let header = screen.split(separator: "\n").first.map(String.init) ?? ""
        screen = try await tmux.wait(timeout: 5) { ($0.split(separator: "\n").first.map(String.init) ?? "") != header }
        #expect(screen.contains(notice), "notice gone while the file is still read-only:\n\(screen)")
        #expect(screen.contains(" tokentop "), "dashboard gone:\n\(screen)")
        try tmux.send("q")
        screen = try await tmux.wait { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: screen) == 0, "q did not quit cleanly:\n\(screen)")

        // Nothing was written: the file's bytes are the same, and no write-ahead log holds anything.
        #expect(try Self.bytes(database) == before)
        let wal = (try? FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? Int) ?? 0
        #expect(wal == 0)
        let rows = try Self.list(database, environment: environment)
        let alice = try #require(rows.first { $0["id"] as? String == "acme-alice" })
        #expect(alice["failures"] as? Int == 0)
        #expect(alice["last_refresh_at"] is NSNull)
    }

    /// A store of `text` imported under a new key into `closed/tokentop.sqlite3` of `sandbox` (the modes that close
    /// the directory to nobody are each test's own): the key, the directory and the database.
    static func storeInClosedDirectory(
        _ sandbox: Sandbox, importing text: String
    ) throws -> (key: String, closed: URL, database: String) {
        let key = newKey()
        let closed = sandbox.root.appendingPathComponent("closed")
        try FileManager.default.createDirectory(at: closed, withIntermediateDirectories: true)
        let database = closed.appendingPathComponent("tokentop.sqlite3").path
        let file = try sandbox.write("import.json", text)
        let imported = try Binary.run(
            ["import", file, "--db", database], environment: sandbox.environment.merging(["TOKENTOP_KEY": key]) { $1 })
        try #require(imported.status == 0, "\(imported.stderr)")
        return (key, closed, database)
    }

    /// A store in a directory this user may not write (a backup, another user's file) is read as an unchanging
    /// file; a command that would write it says so in one clear line and changes nothing.
    @Test func aDirectoryTheUserMayNotWriteIsReadButNotWritten() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // A revocation endpoint on a closed port: a revoke that reached for it would fail there, not here.
        let (key, closed, database) = try Self.storeInClosedDirectory(
            sandbox,
            importing: CommandLineTests.importFile.replacingOccurrences(
                of: "\"token_url\": \"http://127.0.0.1:9/token\",",
                with: "\"token_url\": \"http://127.0.0.1:9/token\", "
                    + "\"revocation_url\": \"http://127.0.0.1:9/revoke\","))
        let binary = try Unprivileged.copyOfBinary(into: sandbox.root)
        for (path, mode) in [(sandbox.root.path, 0o755), (closed.path, 0o755), (database, 0o644)] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        let before = try Self.bytes(database)
        // Without write access to the directory SQLite cannot make the write-ahead log's shared memory; with no log
        // beside it holding changes, the file alone is the whole store.
        let nobody = ["TOKENTOP_KEY": key, "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"]
        let list = try Unprivileged.run([binary, "list", "--db", database], environment: nobody)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("acme-alice") && list.stdout.contains("acme-key"), "\(list.stdout)")
        let show = try Unprivileged.run([binary, "show", "acme-alice", "--db", database], environment: nobody)
        #expect(show.status == 0 && show.stdout.contains("alice@example.com"), "\(show.stderr)")
        let audit = try Unprivileged.run([binary, "audit", "--verify", "--db", database], environment: nobody)
        #expect(audit.status == 0, "\(audit.stderr)")
        let revoke = try Unprivileged.run([binary, "revoke", "acme-key", "--db", database], environment: nobody)
        #expect(revoke.status == 1)
        // Refused before the provider is asked: a revocation the store could not record would be lost.
        #expect(
            revoke.stderr == "tokentop: acme-key: not revoked: the database \(database) is open read-only: this user "
                + "may not write it or its directory (make them writable, chmod u+w, or run as their owner); nothing "
                + "was sent to the provider\n",
            "\(revoke.stderr)")
        #expect(try Self.bytes(database) == before)
        #expect(!FileManager.default.fileExists(atPath: database + "-wal"))
    }

    /// Such a store whose write-ahead log still holds changes (its writer was killed) is refused, not shown stale, and
    /// the message names the log and who can read it in.
    @Test func aDirectoryTheUserMayNotWriteWithAnUnreadLogIsRefusedByName() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let (key, closed, database) = try Self.storeInClosedDirectory(sandbox, importing: CommandLineTests.importFile)
        // A writer killed after its commit: the change is in the log only, and its shared-memory file is gone.
        let killed = try Binary.run(
            executable: "/usr/bin/env",
            [
                "python3", "-c",
                "import os, sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    + "c.execute('PRAGMA wal_autocheckpoint=0'); "
                    + "c.execute(\"UPDATE connections SET subject = subject || ' (changed)'\"); c.commit(); "
                    + "os._exit(0)",
                database,
            ])
        try #require(killed.status == 0, "\(killed.stderr)")
        try? FileManager.default.removeItem(atPath: database + "-shm")
        let log = try #require(try FileManager.default.attributesOfItem(atPath: database + "-wal")[.size] as? Int)
        try #require(log > 0)
        let binary = try Unprivileged.copyOfBinary(into: sandbox.root)
        let modes = [(sandbox.root.path, 0o755), (closed.path, 0o755), (database, 0o644), (database + "-wal", 0o644)]
        for (path, mode) in modes {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        let nobody = ["TOKENTOP_KEY": key, "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"]
        let list = try Unprivileged.run([binary, "list", "--db", database], environment: nobody)
        #expect(list.status == 1)
        #expect(
            list.stderr == "tokentop: cannot read the database \(database): its write-ahead log \(database)-wal holds "
                + "changes that only a user who may write \(closed.path) can read in; run `tokentop list --db "
                + "\(database)` once as that user, or copy the files to a directory you may write; nothing was "
                + "changed\n",
            "\(list.stderr)")
    }

    // MARK: - Busy

    /// Another process that holds `BEGIN IMMEDIATE` on `database` until its stdin gets a line.
    final class LockHolder {
        let process = Child()
        private let input = Pipe()

        init(_ database: String) async throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", "-c",
                "import sqlite3, sys\n"
                    + "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                    + "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\n"
                    + "sys.stdin.readline()\nc.execute('ROLLBACK')\nc.close()\n",
                database,
            ]
            let out = Pipe()
            process.standardOutput = out
            process.standardInput = input
            try process.run()
            let first = await ServerLaunch.firstLine(of: out.fileHandleForReading, pid: process.processIdentifier)
            guard first.hasPrefix("locked") else { throw OAuthServerFixture.Failure("the lock holder said \(first)") }
        }

        /// Rolls back and waits for the holder to end.
        func release() async throws {
            input.fileHandleForWriting.write(Data("go\n".utf8))
            try input.fileHandleForWriting.close()
            _ = await process.exited()
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// A token endpoint that rotates the refresh token, and that has another process take the database's write lock
    /// (the path its first argument names) as it answers, holding it for 7 s: longer than the 5 s busy timeout.
    static let lockingProvider = #"""
        import http.server, sqlite3, sys, threading, time
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                lock = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
                lock.execute('BEGIN IMMEDIATE')
                def release():
                    time.sleep(7)
                    lock.execute('ROLLBACK')
                    lock.close()
                threading.Thread(target=release).start()
                out = (b'{"access_token":"fake-access-token-lock-0002","refresh_token":"fake-refresh-token-lock-0002",'
                       b'"token_type":"Bearer","expires_in":3600}')
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(out)))
                self.end_headers()
                self.wfile.write(out)
        """# + "\n" + CurlTransportTests.serving

    /// The provider has rotated the refresh token when the write meets a lock held longer than the busy timeout:
    /// the new tokens are held and written once the lock goes. Dropped, the old token would have been sent again at
    /// the next refresh and refused, and the connection lost to re-auth.
    @Test func aRotatedTokenIsKeptThroughALockLongerThanTheBusyTimeout() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let provider = try await HostileProviderTests.Server(
            script: Self.lockingProvider, arguments: [sandbox.database])
        try #require(provider.port > 0, "the provider did not start")
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: "http://127.0.0.1:9/token", with: "http://127.0.0.1:\(provider.port)/token"))
        try #require(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let started = Date()
        let refresh = try Binary.run(["refresh", "acme-alice"], environment: sandbox.environment)
        #expect(Date().timeIntervalSince(started) >= 5, "the write met the lock")
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)")
        // Its lifetime counts from the answer, seconds before the write.
        #expect(refresh.stdout.hasPrefix("acme-alice: refreshed, expires in 59m"), "\(refresh.stdout)")
        let shown = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let object = try #require(try JSONSerialization.jsonObject(with: shown.output) as? [String: Any])
        #expect(object["refresh_fingerprint"] as? String == Secret("fake-refresh-token-lock-0002").fingerprint)
        let history = try #require(object["history"] as? [[String: Any]])
        #expect(history.last?["message"] as? String == "refreshed; refresh token rotated", "\(history)")
        #expect(try Self.sqlite(sandbox.database, "PRAGMA integrity_check") == "ok")
    }

    @Test func aWriterHoldingTheLockIsShownAndTheDashboardRecovers() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let environment = sandbox.environment.merging(["TOKENTOP_KEY": Self.newKey()]) { $1 }
        let database = sandbox.root.appendingPathComponent("demo.sqlite3").path
        // The demo on a file of its own: short-lived tokens, so refreshes fall due while the lock is held.
        let tmux = try Tmux(width: 300, height: 40, environment: environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo --db \(database); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-alice") }
        try #require(screen.contains("acme-alice"), "no dashboard:\n\(screen)")
        let ids = Set(try Self.list(database, environment: environment).compactMap { $0["id"] as? String })

        let holder = try await LockHolder(database)
        let lockedAt = Date()
        let notice =
            " ! database problem: the database \(database) stayed locked by another process for more than 5 seconds"
        screen = try await tmux.wait(timeout: 45) { $0.contains(notice) }
        let shownAfter = Date().timeIntervalSince(lockedAt)
        #expect(screen.contains(notice), "no database notice while locked:\n\(screen)")
        #expect(screen.contains("nothing was changed"))
        // A refresh falls due while the lock lasts. Claimed before the lock, its answer is held and the notice says
        // so; due after it, its claim cannot be written, and the events say that nothing was sent.
        let holding = " ! database problem: holding the new tokens of "
        let why = " and trying again to store them: the database \(database) stayed locked by another process"
        let unrecorded = "refresh not recorded, database problem: the database \(database) stayed locked"
        @Sendable func met(_ screen: String) -> Bool {
            (screen.contains(holding) && screen.contains(why)) || screen.contains(unrecorded)
        }
        // The demo's first renewal falls due up to about 40 s after it starts: wait for it, and then 5 s more.
        screen = try await tmux.wait(timeout: 90) { met($0) }
        let refreshAfter = Date().timeIntervalSince(lockedAt)
        #expect(met(screen), "no refresh met the lock:\n\(screen)")
        // Still running while the lock lasts: the rows stay, and the header keeps its clock.
        #expect(DashboardTmuxTests.row(of: "acme-alice", in: screen) != nil, "rows gone:\n\(screen)")
        let header = screen.split(separator: "\n").first.map(String.init) ?? ""
        screen = try await tmux.wait(timeout: 5) { ($0.split(separator: "\n").first.map(String.init) ?? "") != header }
        #expect(screen.contains(" tokentop "), "dashboard gone:\n\(screen)")

        try await holder.release()
        let releasedAt = Date()
        // Recovered: the notice goes once a refresh is stored, and the store shows one written after the release.
        screen = try await tmux.wait(timeout: 30) { !$0.contains(" ! database problem") }
        #expect(!screen.contains(" ! database problem"), "notice stayed after the release:\n\(screen)")
        let formatter = ISO8601DateFormatter()
        var latest = Date.distantPast
        let deadline = Date().addingTimeInterval(30)
        repeat {
            let rows = try Self.list(database, environment: environment)
            latest = rows.compactMap { ($0["last_refresh_at"] as? String).flatMap(formatter.date) }.max() ?? latest
            if latest >= releasedAt.addingTimeInterval(-1) { break }
            try await Task.sleep(for: .milliseconds(500))
        } while Date() < deadline
        #expect(latest >= releasedAt.addingTimeInterval(-1), "no refresh stored after the release (latest \(latest))")

        try tmux.send("Escape")
        try tmux.send("q")
        screen = try await tmux.wait { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: screen) == 0, "q did not quit cleanly:\n\(screen)")
        // Nothing half-written: the file checks out, and every connection is still there and readable.
        #expect(try Self.sqlite(database, "PRAGMA integrity_check") == "ok")
        #expect(Set(try Self.list(database, environment: environment).compactMap { $0["id"] as? String }) == ids)
        print(
            "database-faults: lock notice shown \(String(format: "%.1f", shownAfter)) s and a refresh met the lock "
                + "\(String(format: "%.1f", refreshAfter)) s after the lock was taken")
    }

    // MARK: - Disk full

    /// A tmpfs of `kilobytes` mounted on `directory`; nil when this machine does not let the tests mount one.
    static func mountSmallFilesystem(at directory: URL, kilobytes: Int) throws -> Bool {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let options = "size=\(kilobytes)k,mode=0700"
        let mounted = try Binary.run(
            executable: "/usr/bin/env", ["mount", "-t", "tmpfs", "-o", options, "tmpfs", directory.path])
        return mounted.status == 0
    }

    /// Writes `path` until the filesystem refuses more; the bytes written.
    static func fill(_ path: String) -> Int {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x5A, count: 4096)
        var total = 0
        while true {
            let written = chunk.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            total += written
        }
        return total
    }

    @Test func aFullDiskIsShownAndTheDashboardRecoversWhenSpaceComesBack() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let disk = sandbox.root.appendingPathComponent("disk")
        guard try Self.mountSmallFilesystem(at: disk, kilobytes: 1024) else {
            // Mounting needs a privilege containers often lack, and no server of ours can stand in for it: the run
            // says so on its output, and the SQLite layer's max_page_count test still covers a full disk.
            print("DatabaseFaultTests: full-disk scenario not run: this machine does not let the tests mount a tmpfs")
            return
        }
        defer { _ = try? Binary.run(executable: "/usr/bin/env", ["umount", "-l", disk.path]) }
        let environment = sandbox.environment.merging(["TOKENTOP_KEY": Self.newKey()]) { $1 }
        let database = disk.appendingPathComponent("tokentop.sqlite3").path
        // acme-alice has expired and its token URL is dead: the dashboard records a failure, again and again.
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: CommandLineTests.farFuture, with: "2020-01-01T00:00:00Z"))
        try #require(try Binary.run(["import", file, "--db", database], environment: environment).status == 0)
        let tmux = try Tmux(width: 250, height: 30, environment: environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) --db \(database); echo \"exit\"=$?", "Enter")
        var screen = try await tmux.wait(timeout: 20) { $0.contains("acme-alice") }
        try #require(screen.contains("acme-alice"), "no dashboard:\n\(screen)")

        let filler = disk.appendingPathComponent("filler").path
        let filled = Self.fill(filler)
        let notice = " ! database problem: the disk holding \(database) is full"
        // The write-ahead log, restarted by each checkpoint, takes the first writes in the room it already has, so a
        // few failures land; `r` on acme-alice (under the cursor) adds failures until the log must grow.
        let deadline = Date().addingTimeInterval(90)
        repeat {
            try tmux.send("r")
            screen = try await tmux.wait(timeout: 1) { $0.contains(notice) }
        } while !screen.contains(notice) && Date() < deadline
        #expect(screen.contains(notice), "no disk-full notice after \(filled) bytes of filler:\n\(screen)")
        #expect(screen.contains("free some space and retry"))
        #expect(DashboardTmuxTests.row(of: "acme-alice", in: screen) != nil, "rows gone:\n\(screen)")

        // Space comes back: the next write lands, and the notice goes.
        try FileManager.default.removeItem(atPath: filler)
        screen = try await tmux.wait(timeout: 60) { !$0.contains(" ! database problem") }
        #expect(!screen.contains(" ! database problem"), "notice stayed after space came back:\n\(screen)")
        try tmux.send("q")
        screen = try await tmux.wait { Self.exitStatus(in: $0) != nil }
        #expect(Self.exitStatus(in: screen) == 0, "q did not quit cleanly:\n\(screen)")
        // Nothing half-written: the file checks out and the failures were counted, none lost to a torn write.
        #expect(try Self.sqlite(database, "PRAGMA integrity_check") == "ok")
        let rows = try Self.list(database, environment: environment)
        let alice = try #require(rows.first { $0["id"] as? String == "acme-alice" })
        #expect((alice["failures"] as? Int ?? 0) >= 1, "\(alice)")
        #expect(rows.count == 2)
        print("database-faults: disk full after \(filled) bytes of filler on a 1 MiB tmpfs, shown and recovered")
    }

    /// An import into a new store on a disk too small for it is refused, and leaves no database (nor its `-wal` and
    /// `-shm`) behind: a half-made store read as an empty one afterwards.
    @Test(arguments: [true, false])
    func anImportRefusedOnAFullDiskLeavesNothingBehind(keyInEnvironment: Bool) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let disk = sandbox.root.appendingPathComponent("disk")
        guard try Self.mountSmallFilesystem(at: disk, kilobytes: 48) else {
            print("DatabaseFaultTests: full-disk import not run: this machine does not let the tests mount a tmpfs")
            return
        }
        defer { _ = try? Binary.run(executable: "/usr/bin/env", ["umount", "-l", disk.path]) }
        let environment =
            keyInEnvironment ? sandbox.environment.merging(["TOKENTOP_KEY": Self.newKey()]) { $1 } : sandbox.environment
        let database = disk.appendingPathComponent("f.db").path
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let run = try Binary.run(["import", file, "--db", database], environment: environment)
        #expect(run.status == 1)
        #expect(
            run.stderr.hasPrefix("tokentop: the disk holding \(database) is full") && run.stderr.contains(
                "nothing was changed"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: disk.path) == [])
        // The disk refused the store before a key was made for it.
        #expect(!FileManager.default.fileExists(atPath: sandbox.keyFile))
        let list = try Binary.run(["list", "--db", database], environment: environment)
        #expect(list.status == 1)
        #expect(list.stderr.hasPrefix("tokentop: there is no database at \(database)"), "\(list.stderr)")
    }

    // MARK: - Damaged

    @Test func aDamagedDatabaseIsNamedByListAndTheDashboard() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let environment = sandbox.environment.merging(["TOKENTOP_KEY": Self.newKey()]) { $1 }
        let database = sandbox.root.appendingPathComponent("tokentop.sqlite3").path
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        try #require(try Binary.run(["import", file, "--db", database], environment: environment).status == 0)
        // A real tokentop database, damaged inside: the b-tree header of the connections table's page, in the
        // middle of the file, overwritten as a bad sector or a stray write would.
        let pageSize = try #require(Int(try Self.sqlite(database, "PRAGMA page_size")))
        let root = try #require(
            Int(try Self.sqlite(database, "SELECT rootpage FROM sqlite_master WHERE name = 'connections'")))
        let size = try #require(try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int)
        #expect(root > 1 && root * pageSize < size, "page \(root) is not inside the file")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: database))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 100))
        try handle.close()
        let damaged = try Self.bytes(database)
        let message =
            "tokentop: \(database) is not a tokentop database, or it is damaged (database disk image is malformed); "
            + "move it aside, or choose another file with --db or TOKENTOP_DB\n"

        for arguments in [["list"], ["list", "--json"], ["show", "acme-alice"], ["refresh", "acme-alice"]] {
            let run = try Binary.run(arguments + ["--db", database], environment: environment)
            #expect(run.status == 1, "\(arguments)")
            #expect(run.stderr == message, "\(arguments): \(run.stderr)")
            #expect(run.stdout.isEmpty, "\(arguments) printed \(run.stdout)")
        }

        let tmux = try Tmux(width: 300, height: 30, environment: environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) --db \(database); echo \"exit\"=$?", "Enter")
        let screen = try await tmux.wait(timeout: 20) { Self.exitStatus(in: $0) != nil }
        #expect(screen.contains(message.dropLast()), "no message:\n\(screen)")
        #expect(Self.exitStatus(in: screen) == 1, "\(screen)")
        // The damage is reported, never "repaired" by a write.
        #expect(try Self.bytes(database) == damaged)
    }
}
