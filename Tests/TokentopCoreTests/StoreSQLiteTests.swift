import CSQLite
import Foundation
import Synchronization
import Testing

@testable import TokentopCore

/// The SQLite layer's errors: each failure a user can meet has its own code and a message that says what to do.
@Suite struct StoreSQLiteTests {
    @Test func aFileThatIsNotADatabaseIsNamed() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("notes.sqlite3")
        try Data(String(repeating: "these are my notes, not a database\n", count: 200).utf8)
            .write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        }
        #expect(error.code == .notADatabase)
        #expect(error.message.hasPrefix("\(path) is not a tokentop database, or it is damaged"))
        #expect(error.message.contains("--db"))
    }

    /// SQLite answers a switch to write-ahead logging of a new, empty file with SQLITE_BUSY at once, without waiting,
    /// while another connection makes the same switch: stores opened together at their creation (first imports
    /// started together) failed as "locked for more than 5 seconds" within a millisecond. They open, all of them.
    @Test func storesOpenedTogetherAtTheirCreationAllOpen() throws {
        let directory = try StoreTemporaryDirectory()
        let failures = Mutex<[String]>([])
        let threads = 3
        for round in 0..<60 {
            let path = directory.file("new-\(round).sqlite3")
            // Threads of their own, each waiting at the gate until all are there, so that they open together.
            let arrived = Atomic<Int>(0)
            let done = DispatchGroup()
            for _ in 0..<threads {
                done.enter()
                Thread.detachNewThread {
                    arrived.add(1, ordering: .sequentiallyConsistent)
                    while arrived.load(ordering: .sequentiallyConsistent) < threads { sched_yield() }
                    do {
                        _ = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
                    } catch {
                        failures.withLock { $0.append("round \(round): \(error)") }
                    }
                    done.leave()
                }
            }
            done.wait()
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(3))")
    }

    @Test func aDirectoryInPlaceOfTheFileCannotBeOpened() throws {
        let directory = try StoreTemporaryDirectory()
        let error = try #require(throws: StoreError.self) {
            try Store.open(path: directory.path, secrets: SecretBox(key: StoreFixtures.key))
        }
        #expect(error.code == .cannotOpen)
        #expect(error.message.contains("it is a directory"))
    }

    /// A trailing slash names a directory: said as such whether a directory, a file or nothing is there, for
    /// reading commands and creating ones alike (it was "cannot create the database e/ (Is a directory)").
    @Test func aPathEndingInASlashIsNamedForIt() throws {
        let directory = try StoreTemporaryDirectory()
        let file = directory.file("e")
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        for path in [directory.path + "/", file + "/", directory.file("missing") + "/"] {
            for create in [true, false] {
                let error = try #require(throws: StoreError.self) {
                    try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key), create: create)
                }
                #expect(error.code == .cannotOpen)
                #expect(
                    error.message == "the database \(path) ends with a slash, which names a directory; name the "
                        + "database's file with --db or TOKENTOP_DB; nothing was changed")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["e"])
    }

    /// A symbolic link that loops or leads nowhere is named as one, for reading commands and creating ones alike:
    /// a reading command said "there is no database", a creating one SQLite's "unable to open database file".
    @Test func aBrokenSymbolicLinkIsNamedForWhatItIs() throws {
        let directory = try StoreTemporaryDirectory()
        let loop = directory.file("loop")
        let dangling = directory.file("dangling")
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory.file("gone/db"))
        let expected = [
            loop: "cannot open the database \(loop): its symbolic links lead in a loop; fix the link, or name another "
                + "file with --db or TOKENTOP_DB; nothing was changed",
            dangling: "cannot open the database \(dangling): it is a symbolic link to \(directory.file("gone/db")), "
                + "which does not exist; fix the link, or name another file with --db or TOKENTOP_DB; nothing was "
                + "changed",
        ]
        for (path, message) in expected {
            for create in [true, false] {
                let error = try #require(throws: StoreError.self) {
                    try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key), create: create)
                }
                #expect(error.code == .cannotOpen)
                #expect(error.message == message, "create: \(create)")
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["dangling", "loop"])
    }

    /// A store that follows changes (a dashboard, a daemon) checkpoints its write-ahead log on a thread of its own,
    /// and the log restarts from its beginning. The thread's connection had never read the file, took it for one
    /// not in WAL mode, and checkpointed nothing: the log grew a page a second under an idle daemon.
    @Test func aFollowingStoreCheckpointsAndRestartsItsLog() async throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("log.sqlite3")
        let store = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        store.followChanges()
        // A write every 50 ms for 2 s: the checkpoints run twice a second between them.
        for index in 0..<40 {
            _ = try store.appendAudit(
                action: .import, target: "file-\(index)", outcome: "ok", detail: "", user: "tester", at: Date())
            try await Task.sleep(for: .milliseconds(50))
        }
        // The log's header counts its restarts (bytes 12-15, big-endian: SQLite's file format).
        let log = try FileHandle(forReadingFrom: URL(fileURLWithPath: path + "-wal"))
        let header = try #require(try log.read(upToCount: 16))
        let restarts = header.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(restarts > 0, "the log never restarted")
    }

    /// A disk that filled up while SQLite made its shared-memory file, which even a reading command needs, is an
    /// I/O error to SQLite; its errno says the disk is full, and so does the message ("the operating system failed
    /// to read or write" before).
    @Test func anIOErrorFromAFullDiskIsNamedAsAFullDisk() {
        let path = "/srv/tokentop.sqlite3"
        for systemError in [ENOSPC, EDQUOT] {
            let error = SQLiteDatabase.error(
                SQLITE_IOERR | (19 << 8), "disk I/O error", path: path, doing: "reading", systemError: systemError)
            #expect(error.code == .diskFull)
            #expect(error.message.hasPrefix("the disk holding \(path) is full (disk I/O error); free some space"))
        }
        let other = SQLiteDatabase.error(SQLITE_IOERR, "disk I/O error", path: path, doing: "reading", systemError: EIO)
        #expect(other.code == .ioError)
    }

    @Test func anEmptyExistingFileBecomesADatabase() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("empty.sqlite3")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try store.connections().isEmpty)
    }

    /// SQLite keeps what a hand edit puts in a REAL column (`SET expires_at = 'soon'`) as text, which reads as 0:
    /// a token that expired in 1970. The read names the table, the column and the row instead; the whole fleet's
    /// read leaves that row out and names it (``UnreadableConnection``).
    @Test(arguments: ["issued_at", "expires_at", "last_refresh_at", "retry_at", "revoked_at", "created_at"])
    func aTimeEditedIntoTextIsNamedNotReadAs1970(column: String) throws {
        let directory = try StoreTemporaryDirectory()
        let store = try StoreFixtures.store(in: directory)
        try store.database.execute("UPDATE connections SET \(column) = 'soon' WHERE id = 'acme-alice'")
        let named =
            "table connections, column \(column), row acme-alice holds \"soon\", not a time in seconds since "
            + "1970; set it to a number of seconds or NULL, or import the credential again"
        let error = try #require(throws: StoreError.self) { try store.connection(id: "acme-alice") }
        #expect(error.code == .notADatabase)
        #expect(error.message.contains(named), "\(error.message)")
        let all = try store.connectionList()
        #expect(all.list.isEmpty)
        #expect(all.unreadable.map(\.id) == ["acme-alice"])
        #expect(all.unreadable.first?.problem.contains(named) == true)
    }

    /// The same for a history entry's time: named by its connection, not shown as an entry of 1970. The entries
    /// shown and the history feed leave it out (one such entry stopped a dashboard from starting, and the feed at
    /// that entry for good); the reads of one connection's history say what is wrong with it.
    @Test func aHistoryTimeEditedIntoTextIsNamedAndLeftOut() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try StoreFixtures.store(in: directory)
        let before = try store.latestHistoryID()
        for message in ["renewed", "renewed again"] {
            try store.appendHistory(
                HistoryEntry(at: StoreFixtures.epoch, connectionID: "acme-alice", kind: .refreshed, message: message))
        }
        try store.database.execute("UPDATE history SET at = 'soon' WHERE message = 'renewed'")
        var unreadable: [String] = []
        let shown = try store.history(connectionID: "acme-alice", limit: 10, unreadable: &unreadable)
        #expect(shown.map(\.message).suffix(1) == ["renewed again"])
        #expect(!shown.contains { $0.message == "renewed" })
        #expect(unreadable.count == 1)
        #expect(
            unreadable.first?.contains(
                "table history, column at, row of connection acme-alice holds \"soon\", not a time in seconds "
                    + "since 1970; set it to a number of seconds or NULL, or delete that row") == true,
            "\(unreadable)")
        #expect(try store.recentHistory(limit: 10).last?.message == "renewed again")
        let feed = try store.history(since: before, skipping: { [] })
        #expect(feed.entries.map(\.message) == ["renewed again"])
        #expect(feed.latest == before + 2)
    }

    @Test func aLockHeldPastTheTimeoutIsReportedAsBusy() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("busy.sqlite3")
        let holder = try SQLiteDatabase(path: path)
        try holder.configureJournal()
        try holder.execute("CREATE TABLE t (x)")
        try holder.execute("BEGIN IMMEDIATE")
        defer { try? holder.execute("ROLLBACK") }
        let waiter = try SQLiteDatabase(path: path, busyTimeoutMilliseconds: 50)
        let error = try #require(throws: StoreError.self) {
            try waiter.transaction { try waiter.execute("INSERT INTO t VALUES (1)") }
        }
        #expect(error.code == .busy)
        #expect(error.message.contains("locked by another process"))
    }

    @Test func aHeartbeatGivesUpOnAnotherWritersLockAtOnce() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("beat.sqlite3")
        let store = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        let holder = try SQLiteDatabase(path: path)
        try holder.execute("BEGIN IMMEDIATE")
        let started = Date()
        let error = try #require(throws: StoreError.self) { try store.heartbeat(owner: "beat", at: Date()) }
        let waited = Date().timeIntervalSince(started)
        try holder.execute("ROLLBACK")
        #expect(error.code == .busy)
        // Skippable, so it waits 100 ms rather than the 5 s busy timeout that other writes wait.
        #expect(waited < 2, "waited \(waited) s")
        // The usual timeout is back for everything else: the next heartbeat, with the lock gone, lands.
        try store.heartbeat(owner: "beat", at: Date())
        #expect(try store.activeProcesses(since: started.addingTimeInterval(-1)).map(\.owner) == ["beat"])
    }

    @Test func aFullDiskRollsBackAndSaysSo() throws {
        let directory = try StoreTemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("full.sqlite3"))
        try database.configureJournal()
        try database.execute("CREATE TABLE t (x BLOB)")
        let pages = try database.query("PRAGMA page_count") { $0.int(0) }.first ?? 1
        // Capping the file at its current size is how SQLite lets a test meet SQLITE_FULL.
        try database.execute("PRAGMA max_page_count = \(pages)")
        let error = try #require(throws: StoreError.self) {
            try database.transaction {
                try database.execute("INSERT INTO t VALUES (1)")
                try database.execute("INSERT INTO t VALUES (?)", [[UInt8](repeating: 1, count: 100_000)])
            }
        }
        #expect(error.code == .diskFull)
        #expect(error.message.contains("is full"))
        #expect(try database.query("SELECT count(*) FROM t") { $0.int(0) } == [0])
    }

    @Test func aReadOnlyDatabaseSaysHowToMakeItWritable() throws {
        let directory = try StoreTemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("ro.sqlite3"))
        try database.execute("CREATE TABLE t (x)")
        // Tests run as root, where file modes do not stop writes; query_only makes SQLite refuse them itself.
        try database.execute("PRAGMA query_only = 1")
        let error = try #require(throws: StoreError.self) { try database.execute("INSERT INTO t VALUES (1)") }
        #expect(error.code == .readOnly)
        #expect(error.message.contains("make the file and its directory writable"))
    }

    @Test func aFailedTransactionRollsBackEverything() throws {
        struct Stop: Error {}
        let directory = try StoreTemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("tx.sqlite3"))
        try database.execute("CREATE TABLE t (x)")
        #expect(throws: Stop.self) {
            try database.transaction {
                try database.execute("INSERT INTO t VALUES (1)")
                throw Stop()
            }
        }
        #expect(try database.query("SELECT count(*) FROM t") { $0.int(0) } == [0])
        try database.transaction { try database.execute("INSERT INTO t VALUES (2)") }
        #expect(try database.query("SELECT x FROM t") { $0.int(0) } == [2])
    }

    @Test func valuesRoundTripThroughBindAndColumn() throws {
        let directory = try StoreTemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("values.sqlite3"))
        try database.execute("CREATE TABLE t (s, i, d, b, blob, empty, missing, date)")
        let date = Date(timeIntervalSince1970: 1_700_000_000.5)
        try database.execute(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ["héllo ✓", 42, 2.5, true, [UInt8]([0, 1, 255]), [UInt8](), String?.none, date])
        let rows = try database.query("SELECT * FROM t") { row in
            (
                row.string(0), row.int(1), row.double(2), row.bool(3), row.blob(4), row.blob(5), row.string(6),
                row.isNull(6), row.date(7)
            )
        }
        let row = try #require(rows.first)
        #expect(row.0 == "héllo ✓")
        #expect(row.1 == 42)
        #expect(row.2 == 2.5)
        #expect(row.3)
        #expect(row.4 == [0, 1, 255])
        #expect(row.5 == [])
        #expect(row.6 == nil)
        #expect(row.7)
        #expect(row.8 == date)
    }
}
