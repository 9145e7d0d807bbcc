import Foundation

/// What opening a store made that was not there before: its database file, or the empty file it filled. An import
/// that fails takes them away again, so that a refused file leaves no store behind. A key file it made stays (see
/// ``remove()``).
///
/// A PostgreSQL store names none: its database existed before (`createdb`), and once the key check is written there
/// the key that opens it stays. Neither does a store whose file held a database before, for the same reason.
struct NewStoreFiles: Equatable {
    /// A database file this process created: removed, with its `-wal` and `-shm`.
    var created: String?
    /// An empty file (a `touch`) that this process filled: emptied again.
    var filled: String?

    /// What opening `database` at `path` made; nothing for a database that was there before, or one on PostgreSQL.
    init(_ database: any SQLDatabase, path: String) {
        let sqlite = database as? SQLiteDatabase
        created = sqlite?.createdFile == true ? path : nil
        filled = sqlite?.foundEmptyFile == true ? path : nil
    }

    init(created: String? = nil, filled: String? = nil) {
        self.created = created
        self.filled = filled
    }

    /// `error`, saying that a store whose opening failed with it left `made` behind, when the disk refused the new
    /// store (full, or failing) or a signal interrupted its setting up: an import takes them away again. Another
    /// failure (a lock, another key) may be another process's first import of the same new store under way, whose
    /// files must stay.
    static func leaving(_ made: NewStoreFiles, after error: StoreError) -> StoreError {
        guard [.diskFull, .ioError, .interrupted].contains(error.code), made != NewStoreFiles() else { return error }
        var error = error
        error.leftBehind = made
        return error
    }

    /// Takes away what was made. Call it once the store is released, so that no handle of this process writes on
    /// into a removed file.
    ///
    /// A new database another process has open (two first imports at once, a daemon started on it: each holds a
    /// shared lock on the file while open), or has filled and left, is theirs too, and stays. The exclusive lock
    /// taken to look is held while the files go, so nobody opens them meanwhile. The key file stays in every case.
    func remove() {
        guard let database = created ?? filled else { return removeFiles() }
        SQLiteDatabase.releasePresence(database)
        let descriptor = open(database, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return removeFiles() }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, Self.holdsNoRows(database) else { return }
        removeFiles()
    }

    /// Whether the database at `path` holds no row in ``Store/contentTables``. One that cannot be read (half made
    /// on a full disk, its tables never written) counts as holding none: nobody has it open, and this process made
    /// it; only a store another process filled, closed, and then could not be read on a failing disk is lost so.
    private static func holdsNoRows(_ path: String) -> Bool {
        guard let database = try? SQLiteDatabase(path: path, create: false, announced: false) else { return true }
        return Store.contentTables.allSatisfy { table, _ in
            (try? database.query("SELECT count(*) FROM \(table)") { $0.int(0) }.first ?? 0).map { $0 == 0 } ?? true
        }
    }

    private func removeFiles() {
        if let created { for suffix in ["", "-wal", "-shm"] { unlink(created + suffix) } }
        if let filled {
            truncate(filled, 0)
            for suffix in ["-wal", "-shm"] { unlink(filled + suffix) }
        }
        // Not the key file this process made: another process may have read it and sealed a store of its own with
        // it, and ended (a refused import of 20,000 connections beside a good import into another new store took
        // the good store's only key, every time). A key file left over opens nothing and harms nothing; the next
        // import uses it.
    }
}
