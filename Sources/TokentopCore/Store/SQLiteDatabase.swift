import CSQLite
import Foundation
import Synchronization

/// The one thin Swift layer over an `sqlite3*` handle.
///
/// It turns SQLite's result codes into ``StoreError``s that name the file and say what to do, caches prepared
/// statements, and runs transactions. It is not thread-safe: one owner (``Store``, under its lock) uses it.
final class SQLiteDatabase: SQLDatabase {
    let path: String
    var location: String { path }
    /// Whether the file was opened read-only as one nothing changes (see `init(path:create:unchanging:)`).
    let unchanging: Bool
    /// Whether this open created the file: there was none.
    let createdFile: Bool
    /// Whether this open found an empty file (0 bytes, a `touch`), which the store's tables fill.
    let foundEmptyFile: Bool
    let dialect = SQLDialect.sqlite
    private let handle: OpaquePointer
    /// One descriptor of each database file this process opened, by path, holding a shared `flock` while the
    /// process runs: a process taking away a new store its failed import made (``NewStoreFiles/remove()``) leaves it
    /// to another that has it open. Kept, not closed with a connection: closing any descriptor of a file drops every
    /// `fcntl` lock the process holds on it, SQLite's own included (a WAL connection keeps a shared one for its
    /// life, and a process closing its last connection takes the log away when it can lock the file whole). One
    /// whose file is gone or replaced is let go at the next open.
    private static let presences = Mutex<[String: Int32]>([:])
    private let busyTimeoutMilliseconds: Int32
    /// Prepared statements by SQL text; they are reset after each use and finalized in `deinit`.
    private var statements: [StatementKey: OpaquePointer] = [:]
    private var transactionDepth = 0

    /// Opens (creating if missing, with mode 0600) the database at `path`.
    ///
    /// Opening writes nothing: the journal mode is set by ``configureJournal()``, after the caller has checked that
    /// it understands the file's schema.
    /// - Parameter create: whether a missing file is created; a reading command names the missing file instead.
    /// - Parameter unchanging: open the file read-only as one that nothing changes (SQLite's `immutable`), for a
    ///   store this user may read but not write beside: see ``canReadUnchanging(_:)``.
    /// - Parameter announced: whether this connection holds the shared lock that keeps its file from being taken
    ///   away (see ``presences``); not for the look that decides whether to take it away.
    init(
        path: String, create: Bool = true, unchanging: Bool = false, busyTimeoutMilliseconds: Int32 = 5000,
        announced: Bool = true
    ) throws {
        self.path = path
        self.unchanging = unchanging
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        // Whatever is there: a creating open would report "Is a directory" even for a file named before the slash.
        if path.hasSuffix("/") {
            throw StoreError(
                .cannotOpen,
                "the database \(path) ends with a slash, which names a directory; name the database's file with "
                    + "--db or TOKENTOP_DB; nothing was changed", path: path)
        }
        var info = stat()
        if !create, stat(path, &info) != 0 {
            throw StoreError(
                .cannotOpen,
                Self.unreachable(path, code: errno)
                    ?? "there is no database at \(path); `tokentop import FILE` creates one, `tokentop demo` shows "
                    + "how tokentop works, and --db or TOKENTOP_DB choose another file", path: path)
        }
        if !create, Self.isEmptyFile(path) {
            // SQLite would take it for a new database and our migration would fill it: a reading command must
            // not, and the file (a `touch`, a truncated copy) is left exactly as it is, mode included.
            throw StoreError(
                .notADatabase,
                "\(path) is empty (0 bytes), not a tokentop store; `tokentop import FILE --db \(path)` fills it, "
                    + "or name another file with --db; nothing was changed", path: path)
        }
        foundEmptyFile = !unchanging && Self.isEmptyFile(path)
        createdFile = unchanging ? false : try Self.createAndHold(path, create: create, announced: announced)
        var opened: OpaquePointer?
        // No SQLITE_OPEN_CREATE: the file exists now, and SQLite must never create it with the umask's mode.
        // NOMUTEX because our owner serialises every call; SQLite's own mutex would only add cost.
        let flags = unchanging
            ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(unchanging ? Self.unchangingURI(path) : path, &opened, flags, nil)
        guard let opened else {
            throw StoreError(
                .cannotOpen, "cannot open the database \(path): SQLite could not allocate a handle",
                path: path, sqliteResult: Int(result))
        }
        guard result == SQLITE_OK else {
            let message = String(cString: sqlite3_errmsg(opened))
            let systemError = sqlite3_system_errno(opened)
            sqlite3_close_v2(opened)
            throw Self.error(result, message, path: path, doing: "opening", systemError: systemError)
        }
        handle = opened
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        try execute("PRAGMA foreign_keys = ON")
        // Reading the header is the first moment SQLite notices a file that is not a database.
        _ = try userVersion()
    }

    deinit {
        checkpointer?.stop()
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Checkpoints the write-ahead log from a thread and a connection of its own, see
    /// ``startBackgroundCheckpoints()``.
    private var checkpointer: SQLiteCheckpointer?

    /// Moves the write-ahead log's checkpoints off this connection: SQLite's automatic checkpoint runs inside a
    /// commit (every 1,000 pages, with two fsyncs), which made it a quarter of a busy refresher's writing time.
    /// A thread with its own connection checkpoints instead, passively, so writers never wait for it; should it
    /// stop, the last connection to close checkpoints anyway, and the log only grows meanwhile.
    func startBackgroundCheckpoints() {
        guard checkpointer == nil, let started = SQLiteCheckpointer(path: path) else { return }
        do {
            try execute("PRAGMA wal_autocheckpoint = 0")
        } catch {
            started.stop()
            return
        }
        checkpointer = started
    }

    // MARK: - Setup

    /// Whether nothing can be written: opened unchanging, or a file this user may not write, which SQLite opens
    /// read-only without a word.
    // FIXME: reading such a file in a directory this user may write leaves its -wal and -shm beside it with the
    // file's read-only mode, and once the file is made writable, writes still fail on them with a message that names
    // only the file. Opening it unchanging instead broke the dashboard's notice for such a store; not done.
    var readOnly: Bool { unchanging || sqlite3_db_readonly(handle, "main") == 1 }

    /// Switches to write-ahead logging and zeroes freed content, then tightens the mode of the WAL files.
    func configureJournal() throws {
        // A new file's pages are 2 KiB, not SQLite's 4: a refresh rewrites about five scattered pages (its row, its
        // old place in the change index, the history's index by connection, ...), each a whole page in the
        // write-ahead log, and a connection's row is ~400 bytes. Half the bytes written and checksummed: ~7 % more
        // refreshes a second at N = 100,000. Ignored for a file that has pages already.
        try execute("PRAGMA page_size = 2048")
        // WAL lets the dashboard read while the refresh actor (or a daemon in another process) writes.
        let mode = try query("PRAGMA journal_mode = WAL") { $0.string(0) }.first ?? nil
        if mode?.lowercased() != "wal" {
            throw StoreError(
                .readOnly,
                "cannot switch the database \(path) to write-ahead logging (journal mode stays \(mode ?? "unknown")); "
                    + "make the file and its directory writable, or use another file with --db",
                path: path)
        }
        // Revoked tokens are ciphertext already; zeroing freed pages also keeps their remains out of the file.
        try execute("PRAGMA secure_delete = ON")
        // Every commit waits for the disk unless the caller says that losing it to a power cut loses nothing.
        try execute("PRAGMA synchronous = FULL")
        tightenFiles()
    }

    /// Sets mode 0600 on the database and its `-wal` and `-shm` files when they are regular files of this user's
    /// that others can read (say, an empty file made with the umask's mode, or sidecars someone loosened).
    ///
    /// Called only once the file is known to be a tokentop store (after ``Schema/checkCompatible(_:)``): a file that
    /// turns out to be something else is refused with its mode untouched. Cheap enough to do after every open.
    func tightenFiles() {
        for suffix in ["", "-wal", "-shm"] {
            var info = stat()
            let file = path + suffix
            guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(),
                info.st_mode & 0o077 != 0
            else { continue }
            _ = chmod(file, 0o600)
        }
    }

    /// The schema version stored in the file header (`PRAGMA user_version`).
    func userVersion() throws -> Int {
        try query("PRAGMA user_version") { $0.int(0) }.first ?? 0
    }

    func schemaVersion() throws -> Int { try userVersion() }

    func setSchemaVersion(_ version: Int) throws { try execute("PRAGMA user_version = \(version)") }

    func foreignTables() throws -> [String] {
        try query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
            $0.string(0) ?? ""
        }
    }

    func columns(of table: String) throws -> [String] {
        try query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table]) { $0.string(0) ?? "" }
    }

    /// SQLite's write lock already keeps other processes out: a migration is an ordinary write transaction.
    func migrationTransaction(_ body: () throws -> Void) throws { try transaction(durable: true, body) }

    // MARK: - Statements

    func execute(_ sql: String, _ values: [any SQLBindable]) throws {
        _ = try query(sql, values, capacity: 0) { _ in () }
    }

    func query<T>(
        _ sql: String, _ values: [any SQLBindable], capacity: Int, row: (SQLRow) throws -> T
    ) throws -> [T] {
        let statement = try prepared(sql)
        // Resetting releases the statement's read snapshot, which would otherwise hold back WAL checkpoints.
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (offset, value) in values.enumerated() {
            let result = Self.bind(value.sqlValue, to: statement, at: Int32(offset + 1))
            guard result == SQLITE_OK else { throw failure(result, doing: "preparing a query for") }
        }
        var rows: [T] = []
        rows.reserveCapacity(capacity)
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { break }
            guard result == SQLITE_ROW else { throw failure(result, doing: "reading or writing") }
            rows.append(try row(SQLRow(source: .sqlite(statement))))
        }
        return rows
    }

    /// SQLite steps through the rows one at a time already.
    func forEachRow(_ sql: String, _ row: (SQLRow) throws -> Void) throws {
        _ = try query(sql, [], capacity: 0, row: row)
    }

    /// Whether the file this connection opened was deleted, or renamed and perhaps replaced, since: what is written
    /// from then on reaches no file that anyone can open again.
    var fileMoved: Bool {
        var moved: Int32 = 0
        return sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0
    }

    /// Why nothing written through this connection would reach the file, or nil when a write can. SQLite opens a
    /// file this user may not write (mode 0400, another user's 0644) or one on a read-only file system read-only
    /// without a word, and even `BEGIN IMMEDIATE` goes through; only the first write fails.
    func writeProblem() -> StoreError? {
        guard unchanging || sqlite3_db_readonly(handle, "main") == 1 else { return nil }
        let cause: String
        let fix: String
        var volume = statvfs()
        if statvfs(path, &volume) == 0, volume.f_flag & UInt(ST_RDONLY) != 0 {
            cause = "its file system is mounted read-only"
            fix = "remount it read-write"
        } else if access(path, W_OK) != 0 {
            cause = "this user may not write it (permission denied)"
            fix = "make the file writable for this user (chmod u+w, or run as its owner)"
        } else {
            cause = "SQLite opened it read-only"
            fix = "make the file and its directory writable"
        }
        return StoreError(
            .readOnly,
            "cannot write the database \(path): \(cause); \(fix), or choose another file with --db",
            path: path)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(handle)) }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        let key = StatementKey(sql: sql)
        if let statement = statements[key] { return statement }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw failure(result, doing: "preparing a query for") }
        statements[key] = statement
        return statement
    }

    // MARK: - Transactions

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back when it throws.
    ///
    /// IMMEDIATE takes the write lock up front, so a transaction that reads and then writes cannot fail halfway
    /// with SQLITE_BUSY; the busy timeout applies to the BEGIN instead.
    func transaction<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        if !durable { try setDurable(false) }
        defer { if !durable { try? setDurable(true) } }
        return try inTransaction(begin: "BEGIN IMMEDIATE", body)
    }

    func claimTransaction<T>(_ body: () throws -> T) throws -> T { try transaction(durable: false, body) }

    /// Followers of an SQLite file read its change feed every second: there is no one to tell.
    func announceChange() throws {}

    /// A deferred transaction: in write-ahead-log mode its first read fixes the moment every later read sees, and
    /// writers carry on meanwhile.
    func snapshot<T>(_ body: () throws -> T) throws -> T { try inTransaction(begin: "BEGIN DEFERRED", body) }

    /// Runs `body` between `begin` and COMMIT, rolling back when it throws.
    private func inTransaction<T>(begin: String, _ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "SQLiteDatabase transactions do not nest")
        try execute(begin)
        transactionDepth += 1
        defer { transactionDepth -= 1 }
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR) make SQLite roll back on its own.
            if sqlite3_get_autocommit(handle) == 0 { sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Whether a commit waits until the write-ahead log is on the disk (`synchronous = FULL`, the default here) or
    /// only until the operating system has it (`NORMAL`: safe against a crash of this process, not of the machine).
    private var durable = true

    /// Sets how the next commits reach the disk; see ``durable``.
    func setDurable(_ value: Bool) throws {
        guard value != durable else { return }
        try execute(value ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        durable = value
    }

    /// Runs `body`, whose statements commit on their own, without waiting for the disk.
    func withoutWaitingForDisk<T>(_ body: () throws -> T) throws -> T {
        try setDurable(false)
        defer { try? setDurable(true) }
        return try body()
    }

    /// Runs `body` with a busy timeout of 100 ms instead of the usual one, for a write that may be skipped.
    func waitingBriefly<T>(_ body: () throws -> T) throws -> T {
        sqlite3_busy_timeout(handle, 100)
        defer { sqlite3_busy_timeout(handle, busyTimeoutMilliseconds) }
        return try body()
    }

    // MARK: - Errors

    private func failure(_ result: Int32, doing: String) -> StoreError {
        Self.error(
            result, String(cString: sqlite3_errmsg(handle)), path: path, doing: doing,
            busyTimeoutMilliseconds: busyTimeoutMilliseconds, systemError: sqlite3_system_errno(handle))
    }

    /// Turns an SQLite result code into an error that says what the user can do.
    /// - Parameters:
    ///   - busyTimeoutMilliseconds: how long the connection waited for a lock, for the message.
    ///   - systemError: the `errno` of SQLite's last failed system call: a disk that filled up while SQLite made
    ///     its shared-memory file (which even a reading command needs) is an I/O error to SQLite, ENOSPC here.
    static func error(
        _ result: Int32, _ detail: String, path: String, doing: String, busyTimeoutMilliseconds: Int32 = 5_000,
        systemError: Int32 = 0
    ) -> StoreError {
        let code = Int(result)
        let spaceRanOut = systemError == ENOSPC || systemError == EDQUOT
        switch result & 0xff == SQLITE_IOERR && spaceRanOut ? SQLITE_FULL : result & 0xff {
        case SQLITE_CANTOPEN:
            return StoreError(
                .cannotOpen,
                "cannot open the database \(path) (\(detail)); check that the file and its directory exist "
                    + "and that you may read and write them", path: path, sqliteResult: code)
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return StoreError(
                .notADatabase,
                "\(path) is not a tokentop database, or it is damaged (\(detail)); move it aside, "
                    + "or choose another file with --db or TOKENTOP_DB", path: path, sqliteResult: code)
        case SQLITE_READONLY:
            return StoreError(
                .readOnly,
                "cannot write the database \(path) (\(detail)); make the file and its directory writable "
                    + "(chmod u+w), or choose another file with --db", path: path, sqliteResult: code)
        case SQLITE_BUSY, SQLITE_LOCKED:
            return StoreError(
                .busy,
                "the database \(path) stayed locked by another process for more than "
                    + (busyTimeoutMilliseconds % 1_000 == 0
                        ? "\(busyTimeoutMilliseconds / 1_000) seconds" : "\(busyTimeoutMilliseconds) ms")
                    + "; check whether "
                    + "another tokentop (for example `tokentop daemon`) is stuck, then retry; nothing was changed"
                    // Which of SQLite's busy answers, for a report: some come at once, without the wait.
                    + (result == SQLITE_BUSY || result == SQLITE_LOCKED ? "" : " (SQLite result \(code))"),
                path: path, sqliteResult: code)
        case SQLITE_INTERRUPT:
            return StoreError(.interrupted, "interrupted; nothing was written", path: path, sqliteResult: code)
        case SQLITE_FULL:
            return StoreError(
                .diskFull,
                "the disk holding \(path) is full (\(detail)); free some space and retry; nothing was changed",
                path: path, sqliteResult: code)
        case SQLITE_IOERR:
            return StoreError(
                .ioError,
                "the operating system failed to read or write \(path) (\(detail)); check the disk and the "
                    + "filesystem, then retry", path: path, sqliteResult: code)
        case SQLITE_PERM, SQLITE_AUTH:
            return StoreError(
                .cannotOpen,
                "permission denied for the database \(path) (\(detail)); check the file's owner and mode",
                path: path, sqliteResult: code)
        default:
            return StoreError(
                .sqlite, "SQLite failed while \(doing) \(path): \(detail)", path: path,
                sqliteResult: code)
        }
    }

    /// Whether `path` is a regular file of 0 bytes with no write-ahead log holding its content: nothing was ever
    /// committed to it. (A store switched to WAL has its header written, so even a new one is not empty.)
    static func isEmptyFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size == 0 else { return false }
        var log = stat()
        return stat(path + "-wal", &log) != 0 || log.st_size == 0
    }

    /// Whether `path` can be read as an unchanging file when it cannot be opened for writing: it is readable, and
    /// no write-ahead log beside it holds changes that reading the file alone would miss (a store closed cleanly
    /// has none).
    static func canReadUnchanging(_ path: String) -> Bool {
        var info = stat()
        // A regular file only: a pipe or a device named as the store would block the read or never end.
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(path, R_OK) == 0 else { return false }
        return stat(path + "-wal", &info) != 0 || info.st_size == 0
    }

    /// Why `path` cannot be read by this user when its write-ahead log holds changes that SQLite may read only with
    /// a shared-memory file it cannot make beside it; nil when that is not the case.
    static func unreadLogProblem(_ path: String) -> StoreError? {
        var info = stat()
        let directory = Paths.directory(of: path)
        guard stat(path + "-wal", &info) == 0, info.st_size > 0, access(Paths.folder(of: path), W_OK) != 0
        else { return nil }
        return StoreError(
            .readOnly,
            "cannot read the database \(path): its write-ahead log \(path)-wal holds changes that only a user who may "
                + "write \(directory.isEmpty ? "its directory" : directory) can read in; run `tokentop list --db "
                + "\(path)` once as that user, or copy the files to a directory you may write; nothing was changed",
            path: path)
    }

    /// `file:` URI for `path` with `immutable=1`: characters a URI gives a meaning are percent-encoded.
    private static func unchangingURI(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return "file:" + (absolute.addingPercentEncoding(withAllowedCharacters: allowed) ?? absolute) + "?immutable=1"
    }

    /// Why `path`, which `stat` could not follow (`code`, its errno), cannot be opened: a symbolic link that loops
    /// or leads nowhere, a directory on the way this user may not search; nil when nothing is there at all.
    private static func unreachable(_ path: String, code: Int32) -> String? {
        var info = stat()
        let isLink = lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
        let other = "name another file with --db or TOKENTOP_DB; nothing was changed"
        switch code {
        case ENOENT where isLink:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "a missing file"
            return "cannot open the database \(path): it is a symbolic link to \(target), which does not exist; fix "
                + "the link, or \(other)"
        case ENOENT: return nil
        case ELOOP:
            return "cannot open the database \(path): its symbolic links lead in a loop; fix the link, or \(other)"
        case EACCES:
            return "cannot open the database \(path): a directory on its path may not be searched by this user "
                + "(permission denied); ask for access to it, or \(other)"
        default:
            return "cannot open the database \(path): \(String(cString: strerror(code))); \(other)"
        }
    }

    /// Creates the file when missing (``createPrivateFile(_:)``) and, when `announced`, holds the shared lock of
    /// ``presences`` on it. Should the file be taken away meanwhile (another process's failed first import, which
    /// takes it only while nobody holds the lock), it is made again.
    /// - Returns: whether this call created the file.
    private static func createAndHold(_ path: String, create: Bool, announced: Bool) throws -> Bool {
        var created = try createPrivateFile(path)
        guard announced else { return created }
        for _ in 0..<5 {
            if presences.withLock({ $0[path].map { PrivateFiles.isSameFile($0, path) } ?? false }) { return created }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            // A file this user may write but not read: the lock is the only thing lost.
            guard descriptor >= 0 else { return created }
            while flock(descriptor, LOCK_SH) != 0, errno == EINTR {}
            if PrivateFiles.isSameFile(descriptor, path) {
                presences.withLock { presences in
                    // Files gone or replaced: nobody opens those by their path any more.
                    for (name, old) in presences where !PrivateFiles.isSameFile(old, name) {
                        close(old)
                        presences[name] = nil
                    }
                    presences[path] = descriptor
                }
                return created
            }
            close(descriptor)
            guard create else { return created }
            created = try createPrivateFile(path) || created
        }
        return created
    }

    /// Lets go of this process's shared lock on the database file at `path` (see ``presences``), for a caller that
    /// has closed every connection to it and is about to take it away.
    static func releasePresence(_ path: String) {
        presences.withLock { presences in
            if let own = presences.removeValue(forKey: path) { close(own) }
        }
    }

    /// Creates `path` with mode 0600 if it does not exist, so that no other user can ever read it.
    /// - Returns: whether it created the file; false for one that was there.
    private static func createPrivateFile(_ path: String) throws -> Bool {
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            // The umask may only remove bits, but say 0600 explicitly in case the file system adds some.
            _ = fchmod(descriptor, 0o600)
            close(descriptor)
            return true
        }
        let code = errno
        if code == EEXIST {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
                throw StoreError(
                    .cannotOpen,
                    "cannot open the database \(path): it is a directory; "
                        + "name a file with --db or TOKENTOP_DB", path: path)
            }
            // A device, a pipe or a socket (`--db /dev/null`) is no database, and SQLite must not write beside it.
            if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                throw StoreError(
                    .cannotOpen,
                    "cannot open the database \(path): it is not a regular file (a device, a pipe or a socket); "
                        + "name a file with --db or TOKENTOP_DB; nothing was changed", path: path)
            }
            // A symbolic link that loops or leads nowhere: O_EXCL refused to follow it, and SQLite would only say
            // that it is "unable to open database file".
            if stat(path, &info) != 0, let problem = unreachable(path, code: errno) {
                throw StoreError(.cannotOpen, problem, path: path)
            }
            // Its mode is tightened only once it proves to be a tokentop store (tightenFiles).
            return false
        }
        let reason = String(cString: strerror(code))
        let hint =
            code == EROFS || code == EACCES
            ? "make the directory writable, or choose another file with --db or TOKENTOP_DB"
            : "check that its directory exists, or choose another file with --db or TOKENTOP_DB"
        throw StoreError(
            code == EROFS ? .readOnly : .cannotOpen,
            "cannot create the database \(path) (\(reason)); \(hint)", path: path)
    }
}

// MARK: - Values

/// Tells SQLite to copy bound text and blobs, since Swift buffers do not outlive the bind call.
private var transient: sqlite3_destructor_type { unsafeBitCast(-1, to: sqlite3_destructor_type.self) }

extension SQLiteDatabase {
    /// Binds one value to the 1-based parameter `index` and returns SQLite's result code.
    fileprivate static func bind(_ value: SQLValue, to statement: OpaquePointer, at index: Int32) -> Int32 {
        switch value {
        case .null: sqlite3_bind_null(statement, index)
        case .text(let text): sqlite3_bind_text(statement, index, text, -1, transient)
        case .integer(let integer): sqlite3_bind_int64(statement, index, Int64(integer))
        case .real(let real): sqlite3_bind_double(statement, index, real)
        case .blob(let bytes):
            bytes.withUnsafeBytes { raw in
                // A zero-length blob still needs a non-null pointer, or SQLite stores NULL.
                sqlite3_bind_blob(
                    statement, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count),
                    transient)
            }
        }
    }
}

/// SQL text as the key of the statement cache, hashed by its length and its last bytes only: a refresh runs half a
/// dozen statements of hundreds of bytes, and hashing each whole took about 3 % of the refresh writer's thread.
/// Texts that hash alike are still told apart by comparing them whole.
private struct StatementKey: Hashable {
    let sql: String

    func hash(into hasher: inout Hasher) {
        let utf8 = sql.utf8
        hasher.combine(utf8.count)
        for byte in utf8.suffix(48) { hasher.combine(byte) }
    }
}
