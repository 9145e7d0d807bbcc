import Foundation
import Synchronization

/// The database of integrations, connections and their history, with every secret sealed by a ``SecretBox``.
///
/// Each public method is one unit: a write runs in one transaction that either lands whole or not at all, and
/// readers never see half of it. Secrets are read only through ``integrationSecret(id:)`` and
/// ``tokenSecrets(connectionID:)``; everything else returns facts that are safe to show.
public final class Store: @unchecked Sendable {
    // @unchecked Sendable: the only mutable state is the SQLite handle (with its statement cache) and the JSON
    // coders, and every access to them happens while `lock` is held, so no two threads ever use them at once.

    /// The database file, as the caller named it.
    public let path: String
    /// Replaced only by `rekey` and by a store's first key, under `lock`. Also readable without `lock` (see
    /// ``seal(_:connectionID:)``), hence a mutex of its own.
    var secrets: SecretBox {
        get { box.withLock { $0 } }
        set { box.withLock { $0 = newValue } }
    }
    private let box: Mutex<SecretBox>
    let database: any SQLDatabase
    private let lock = NSLock()
    let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    let decoder = JSONDecoder()

    /// The schedule written into each connection's `due_at`, which refreshers sharing the store claim by; set by
    /// the engine to its refresh policy (``setDuePolicy(_:)``). Guarded by `lock`.
    var duePolicy = RefreshPolicy.standard
    /// History entries that this process's prober and sign-ins wrote and show themselves, which the history feed
    /// passes over (``history(since:skipping:)``): read back before their writer showed them, they were shown, and
    /// logged by a daemon, twice. Guarded by `lock`.
    var shownHere: [ClosedRange<Int>] = []
    /// Due connections whose rows ``claimDue(owner:limit:now:until:)`` could not read, by id: each claim reads as
    /// many more rows, so that they never take the places of readable ones, and tries them again. Guarded by `lock`.
    var unreadableDue: [String: UnreadableConnection] = [:]
    /// Set by ``interrupt()``.
    private let interruption = Atomic<Bool>(false)
    /// PostgreSQL's change notices, for a store that follows other processes' writes (see ``followChanges()``).
    private let listener: PostgresListener?
    private var following = false

    private init(path: String, secrets: SecretBox, database: any SQLDatabase, listener: PostgresListener? = nil) {
        self.path = path
        box = Mutex(secrets)
        self.database = database
        self.listener = listener
    }

    deinit { listener?.stop() }

    /// Opens the database at `path`, creating it (mode 0600, its directory 0700) and its tables when missing.
    ///
    /// A database written by a newer tokentop is refused before anything is written to it, and so is a key that
    /// cannot open the secrets already stored.
    /// - Throws: ``StoreError``.
    /// - Parameter create: whether a missing database (and its directory) is created, or named as missing.
    /// - Parameter path: an SQLite file, or a PostgreSQL URL (`postgres://USER@HOST:PORT/DB`); see
    ///   ``isPostgres(_:)``. A PostgreSQL store is named by its URL without the password from then on.
    /// - Parameter createDirectory: whether a missing directory of a database that is created is created too (the
    ///   default location), or named as missing (a path the user gave, where it is more likely a typo).
    public static func open(
        path: String, secrets: SecretBox, create: Bool = true, createDirectory: Bool = true
    ) throws -> Store {
        try open(
            path: path, secrets: secrets, create: create, createDirectory: createDirectory,
            busyTimeoutMilliseconds: 5_000)
    }

    /// - Parameter busyTimeoutMilliseconds: how long a statement waits for another process's lock (SQLite's busy
    ///   timeout, PostgreSQL's `lock_timeout`).
    static func open(
        path: String, secrets: SecretBox, create: Bool, createDirectory: Bool = true, busyTimeoutMilliseconds: Int32
    ) throws -> Store {
        try retryingImmediateBusy(path, busyTimeoutMilliseconds: busyTimeoutMilliseconds) {
            try openOnce(
                path: path, secrets: secrets, create: create, createDirectory: createDirectory,
                busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        }
    }

    /// Runs `body`, which opens the SQLite store at `path`, again while it fails as busy within the busy timeout.
    ///
    /// SQLite answers the switch of a new, empty file to write-ahead logging with SQLITE_BUSY at once, without
    /// waiting, while another connection makes the same switch: imports started together into a new store failed
    /// within 0.2 s as "locked for more than 5 seconds". Opening again settles it; a lock held longer still fails
    /// once the busy timeout has passed. A PostgreSQL store waits in the server instead.
    static func retryingImmediateBusy<T>(
        _ path: String, busyTimeoutMilliseconds: Int32 = 5_000, _ body: () throws -> T
    ) throws -> T {
        let started = ContinuousClock.now
        while true {
            do {
                return try body()
            } catch let error as StoreError
                where error.code == .busy && !isPostgres(path)
                && started.duration(to: .now) < .milliseconds(Int(busyTimeoutMilliseconds))
            {
                usleep(50_000)
            }
        }
    }

    private static func openOnce(
        path: String, secrets: SecretBox, create: Bool, createDirectory: Bool, busyTimeoutMilliseconds: Int32
    ) throws -> Store {
        let database = try openDatabase(
            path, create: create, createDirectory: createDirectory, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        if database.dialect.isPostgres, !create, try database.schemaVersion() == 0 {
            throw StoreError(
                .cannotOpen,
                "the PostgreSQL database \(database.location) holds no tokentop store yet; `tokentop migrate "
                    + "--store URL` creates its tables and `tokentop import FILE --store URL` fills it",
                path: database.location)
        }
        do {
            try Schema.migrate(database)
            let listener = database.dialect.isPostgres ? PostgresListener(url: path, location: database.location) : nil
            let store = Store(path: database.location, secrets: secrets, database: database, listener: listener)
            try store.verifyKey()
            (database as? SQLiteDatabase)?.tightenFiles()
            return store
        } catch let error as StoreError {
            throw NewStoreFiles.leaving(
                NewStoreFiles(database, path: database.location), after: error)
        }
    }

    /// Takes `box`, the first key of a store opened without one, and binds the store to it (its key check).
    func adopt(_ box: SecretBox) throws {
        try locked { secrets = box }
        try verifyKey()
    }

    /// Sets the policy whose due times this process writes into the rows it changes.
    public func setDuePolicy(_ policy: RefreshPolicy) {
        lock.lock()
        defer { lock.unlock() }
        duePolicy = policy
    }

    /// Tells the store that this process keeps it open and follows it (a dashboard, a daemon). On PostgreSQL it
    /// starts listening for other processes' changes, and from then on ``changeNotices`` moves whenever a change
    /// commits; on SQLite it checkpoints the write-ahead log on a thread of its own, so that the refreshes' commits
    /// stop paying for it. Idempotent.
    public func followChanges() {
        lock.lock()
        defer { lock.unlock() }
        guard !following else { return }
        following = true
        listener?.start()
        (database as? SQLiteDatabase)?.startBackgroundCheckpoints()
    }

    /// A number that moves when another process may have written (PostgreSQL's notices); always 0 on SQLite,
    /// where readers poll instead.
    public var changeNotices: UInt64 { listener?.notices ?? 0 }

    /// How often a follower reads the change feed when no notice arrived: every second on SQLite; on PostgreSQL
    /// only as a safety net for lost notices.
    public var changePollInterval: Double { listener == nil ? 1 : 5 }

    /// Opens the engine `path` names and checks that this tokentop understands what is there; writes nothing.
    /// - Parameter createDirectory: with `create`, whether a missing directory is created, or refused by name.
    static func openDatabase(
        _ path: String, create: Bool, createDirectory: Bool = true, busyTimeoutMilliseconds: Int32 = 5_000
    ) throws -> any SQLDatabase {
        // A URL of another scheme (a typo, another engine) must not become a local file of that name.
        if path.contains("://"), !PostgresDatabase.isURL(path) {
            throw StoreError(
                .cannotOpen,
                "\(displayName(path)) is not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE) nor a file path; "
                    + "nothing was created", path: displayName(path))
        }
        if PostgresDatabase.isURL(path) {
            let database = try PostgresDatabase(url: path, lockTimeoutMilliseconds: busyTimeoutMilliseconds)
            try Schema.checkCompatible(database)
            return database
        }
        let directory = Paths.directory(of: path)
        if create, !directory.isEmpty {
            if createDirectory {
                try PrivateFiles.makeDirectory(directory, for: "the database")
            } else {
                try requireDirectory(directory, of: path)
            }
        }
        do {
            let database = try SQLiteDatabase(
                path: path, create: create, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            do {
                try Schema.checkCompatible(database)
                try database.configureJournal()
            } catch let error as StoreError {
                throw NewStoreFiles.leaving(NewStoreFiles(database, path: path), after: error)
            }
            return database
        } catch let error as StoreError where [.readOnly, .cannotOpen].contains(error.code) && !create {
            // A store this user may read but not write beside (a backup, another user's file in a directory
            // closed to this one): SQLite cannot make its shared-memory file, so it is read as an unchanging file.
            guard SQLiteDatabase.canReadUnchanging(path) else {
                throw SQLiteDatabase.unreadLogProblem(path) ?? error
            }
            let database = try SQLiteDatabase(path: path, create: false, unchanging: true)
            try Schema.checkCompatible(database)
            return database
        }
    }

    /// Refuses to create the SQLite database `path` when its directory is missing: a path the user named with a
    /// typo in it must not become a new, empty store beside the real one. A PostgreSQL URL passes.
    /// - Throws: ``StoreError`` `cannotOpen`, naming the directory.
    public static func requireDirectory(ofDatabase path: String) throws {
        let directory = Paths.directory(of: path)
        guard !isPostgres(path), !directory.isEmpty else { return }
        try requireDirectory(directory, of: path)
    }

    private static func requireDirectory(_ directory: String, of path: String) throws {
        var info = stat()
        guard stat(directory, &info) != 0 else { return }
        // Another reason (a directory that may not be searched, a loop) is SQLite's to name, as before.
        guard errno == ENOENT || errno == ENOTDIR else { return }
        throw StoreError(
            .cannotOpen,
            "cannot create the database \(path): its directory \(directory) does not exist; tokentop creates "
                + "directories only for its default database; check the path, or create the directory with "
                + "`mkdir -p -m 700 \(directory)`; nothing was created", path: path)
    }

    /// `location` as messages show it: a PostgreSQL URL without its password or query, and any other text (a file
    /// path, or a libpq `key=value` string given where a URL belongs) with the value of each `password=` hidden.
    public static func displayName(_ location: String) -> String {
        location.contains("://") ? PostgresDatabase.redacted(location) : PostgresDatabase.redactedKeywords(location)
    }

    /// Whether `location` names a PostgreSQL store (a `postgres://` or `postgresql://` URL) rather than a file.
    public static func isPostgres(_ location: String) -> Bool { PostgresDatabase.isURL(location) }

    /// Whether this store lives on a PostgreSQL server, shared by processes on several machines.
    public var isShared: Bool { database.dialect.isPostgres }

    /// What opening this store made that was not there before; see ``NewStoreFiles``.
    var newFiles: NewStoreFiles { NewStoreFiles(database, path: path) }

    func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Reading

    /// Every integration, ordered by id.
    public func integrations() throws -> [Integration] {
        try locked {
            try database.query("SELECT \(Self.integrationColumns) FROM integrations ORDER BY id") {
                try integration(from: $0)
            }
        }
    }

    /// Every connection that can be read, ordered by scope (user, org, delegated, workspace, bot) and then by id.
    public func connections() throws -> [Connection] {
        Array(try connectionList().list)
    }

    /// Every connection, ordered as ``connections()`` orders them, straight into the engine's chunked list; and the
    /// rows that cannot be read (``UnreadableConnection``), by id, which the list leaves out.
    func connectionList() throws -> (list: ConnectionList, unreadable: [UnreadableConnection]) {
        let (rows, order, unreadable) = try locked { () throws -> ([Connection], [Int], [UnreadableConnection]) in
            var cache = RowCache()
            // Room for every row at once: growing the array moved 100,000 connections several times over.
            let count = try database.query("SELECT count(*) FROM connections") { $0.int(0) }.first ?? 0
            if count >= Self.twoReadersFrom, let file = database as? SQLiteDatabase,
                let halves = try connectionsByTwoReaders(file, count: count)
            {
                return halves
            }
            var rows: [Connection] = []
            rows.reserveCapacity(count)
            var unreadable: [UnreadableConnection] = []
            _ = try database.query("SELECT \(Self.connectionColumns) FROM connections", capacity: 0) {
                take($0, into: &rows, unreadable: &unreadable, cache: &cache)
            }
            return (rows, ListOrder(rows).positions, unreadable)
        }
        return (ConnectionList(moving: rows, order: order), Self.byID(unreadable))
    }

    /// `unreadable` by id, each id once (two readers whose ranges moved under them may both have read one).
    static func byID(_ unreadable: [UnreadableConnection]) -> [UnreadableConnection] {
        Dictionary(unreadable.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }).values.sorted {
            $0.id < $1.id
        }
    }

    /// Stops a long write of this store (an import), from any thread (a signal's): it fails at its next entry with
    /// ``StoreError/Code/interrupted``, and its transaction is rolled back. (Not SQLite's own interrupt: a statement
    /// left unfinished kept it in force, and the cleanup's reads failed with it.)
    public func interrupt() { interruption.store(true, ordering: .sequentiallyConsistent) }

    /// Throws ``StoreError/Code/interrupted`` once ``interrupt()`` was called.
    func checkInterrupted() throws {
        guard interruption.load(ordering: .sequentiallyConsistent) else { return }
        throw StoreError(.interrupted, "interrupted; nothing was written", path: path)
    }

    /// The connection named `id`, or nil when there is none.
    public func connection(id: String) throws -> Connection? {
        try locked { try loadConnection(id) }
    }

    /// The client secret of the integration named `id`, or nil when it has none.
    /// - Throws: ``StoreError`` when there is no such integration or the secret cannot be decrypted.
    public func integrationSecret(id: String) throws -> Secret? {
        try locked {
            let rows = try database.query("SELECT client_secret FROM integrations WHERE id = ?", [id]) { $0.blob(0) }
            guard let row = rows.first else {
                throw StoreError(
                    .unknownIntegration,
                    "no integration named \(SafeText.name(id)) in \(path); `tokentop list` shows the connections "
                        + "and their integrations", path: path)
            }
            return try row.map { try unseal($0, context: Self.clientSecretContext(id)) }
        }
    }

    /// The stored access and refresh tokens of a connection (for API keys, the key is the access token).
    /// - Throws: ``StoreError`` when there is no such connection or a token cannot be decrypted.
    public func tokenSecrets(connectionID: String) throws -> (access: Secret?, refresh: Secret?) {
        try locked {
            let rows = try database.query(
                "SELECT access_token, refresh_token FROM connections WHERE id = ?", [connectionID]
            ) { ($0.blob(0), $0.blob(1)) }
            guard let (access, refresh) = rows.first else { throw unknownConnection(connectionID) }
            return (
                try access.map { try unseal($0, context: Self.accessTokenContext(connectionID)) },
                try refresh.map { try unseal($0, context: Self.refreshTokenContext(connectionID)) }
            )
        }
    }

    // MARK: - Importing

    /// Adds or replaces the bundle's integrations and connections, with their secrets, in one transaction.
    ///
    /// A replaced connection gets the bundle's tokens and a clean slate: no failures, no pending re-auth, not
    /// revoked. Each connection gets an `imported` history entry. On any error nothing is written.
    ///
    /// A connection that another process is refreshing (it holds the refresh lease) is not written under it: the
    /// refresher's result would be refused, and with it a refresh token the provider has already rotated. The
    /// import waits, outside any transaction, for the refresher to store its result, then runs again and so meets
    /// the renewed tokens (which it keeps when the file's are those last imported).
    /// - Parameter waiting: told, once per refresh waited for, what the import waits for.
    /// - Throws: ``ImportError`` when a connection names an integration that is neither in the bundle nor in the
    ///   store, or after waiting for ``maximumRefreshWaits`` refreshes; ``StoreError`` for database and key
    ///   failures.
    public func importBundle(
        _ bundle: ImportBundle, at: Date, waiting: (String) -> Void = { _ in }
    ) throws -> ImportSummary {
        let started = Date()
        var waits = 0
        while true {
            // Leases are judged by the import's time, moved on by the time spent waiting for them; after a wait, the
            // entries take that time too, so that they come after the refresh they waited for.
            let leaseTime = at.addingTimeInterval(max(0, Date().timeIntervalSince(started)))
            do {
                return try importOnce(bundle, at: waits == 0 ? at : leaseTime, leaseTime: leaseTime)
            } catch let busy as RefreshInFlight {
                waits += 1
                try waitForRefresh(busy, of: bundle, waits: waits, waiting: waiting) {
                    at.addingTimeInterval(max(0, Date().timeIntervalSince(started)))
                }
            }
        }
    }

    /// How many refreshes in flight one import waits for, one after another, before it gives up.
    static let maximumRefreshWaits = 100

    /// Waits until the refresher of `busy` gives its lease back, its process is gone or its lease ends, polling
    /// outside any transaction so that it can store its result. A lease that ended protects nothing: a refresh
    /// outlives its lease (90 s) only when hung, as its HTTP time limit (30 s) ends it first.
    /// - Throws: ``ImportError`` after ``maximumRefreshWaits`` waits; nothing of the bundle is written then.
    private func waitForRefresh(
        _ busy: RefreshInFlight, of bundle: ImportBundle, waits: Int, waiting: (String) -> Void, now: () -> Date
    ) throws {
        let refusal = { (why: String) in
            ImportError(
                file: bundle.source, entry: bundle.connectionLabel(busy.index),
                problem: "connection \(ImportError.quoted(busy.connectionID)) is being refreshed by process "
                    + "\(SafeText.clean(busy.owner)), \(why); importing it now would discard that refresh's result "
                    + "and the refresh token the provider may have rotated in it; nothing was imported: run the import "
                    + "again once that refresh has ended")
        }
        guard waits <= Self.maximumRefreshWaits else {
            throw refusal("and this import has waited for \(Self.maximumRefreshWaits) refreshes already")
        }
        waiting(
            "waiting for process \(SafeText.clean(busy.owner)), which is refreshing connection "
                + "\(SafeText.name(busy.connectionID)), to store its result (its lease ends at "
                + "\(RFC3339.string(from: busy.until)))")
        while let lease = try leaseHolder(connectionID: busy.connectionID), lease.owner == busy.owner,
            !LeaseOwner.isGone(lease.owner), now() < lease.until
        {
            // Ctrl-C ends the wait at once, as it ends a revocation's: nothing was written yet.
            try checkInterrupted()
            usleep(50_000)
        }
    }

    /// One attempt of ``importBundle(_:at:waiting:)``, in one transaction.
    private func importOnce(_ bundle: ImportBundle, at: Date, leaseTime: Date) throws -> ImportSummary {
        try locked {
            try database.transaction {
                try checkKeyUnchanged()
                var summary = ImportSummary()
                for entry in bundle.integrations {
                    let replaced = try saveIntegration(entry)
                    if replaced { summary.integrationsUpdated += 1 } else { summary.integrationsAdded += 1 }
                }
                // Most connections share a few integrations: look each up once.
                var known = Set(bundle.integrations.map(\.integration.id))
                for (index, entry) in bundle.connections.enumerated() {
                    try checkInterrupted()
                    if !known.contains(entry.integrationID), try integrationExists(entry.integrationID) {
                        known.insert(entry.integrationID)
                    }
                    guard known.contains(entry.integrationID) else {
                        throw ImportError(
                            file: bundle.source, entry: bundle.connectionLabel(index), field: "integration",
                            problem: "no integration \(ImportError.quoted(entry.integrationID)) in the file or in "
                                + "the database \(path); add it to \"integrations\"")
                    }
                    let (replaced, kept) = try saveConnection(bundle, index, at: at, leaseTime: leaseTime)
                    if replaced { summary.connectionsUpdated += 1 } else { summary.connectionsAdded += 1 }
                    if let kept { summary.keptTokens.append("\(entry.id): \(kept)") }
                    let what = replaced ? "re-imported" : "imported"
                    try insertHistory(
                        HistoryEntry(
                            at: at, connectionID: entry.id, kind: .imported,
                            message: "\(what) from \(bundle.source)" + (kept.map { "; \($0)" } ?? "")))
                }
                // Checked once every entry is written: a parent may come later in the file than its children.
                for (index, entry) in bundle.connections.enumerated() {
                    guard let parentID = entry.parentID else { continue }
                    let parent = try database.query(
                        "SELECT parent_id, credential FROM connections WHERE id = ?", [parentID]
                    ) { ($0.string(0), $0.string(1)) }
                    guard let (grandparent, credential) = parent.first else {
                        throw ImportError(
                            file: bundle.source, entry: bundle.connectionLabel(index), field: "parent",
                            problem: "no connection \(ImportError.quoted(parentID)) in the file or in the database "
                                + path)
                    }
                    if entry.grant.derivesFromParent, credential != CredentialKind.oauth2.rawValue {
                        throw ImportError(
                            file: bundle.source, entry: bundle.connectionLabel(index), field: "parent",
                            problem: "\(ImportError.quoted(parentID)) holds "
                                + (credential.flatMap(CredentialKind.init)?.withArticle ?? "a \(credential ?? "?")")
                                + " credential, not an OAuth 2.0 access token for \(entry.grant.rawValue) to exchange")
                    }
                    let children = try database.query(
                        "SELECT id FROM connections WHERE parent_id = ? LIMIT 1", [entry.id]) { $0.string(0) ?? "" }
                    if let child = children.first {
                        throw ImportError(
                            file: bundle.source, entry: bundle.connectionLabel(index), field: "parent",
                            problem: "\(ImportError.quoted(entry.id)) is the parent of \(ImportError.quoted(child)), "
                                + "so it cannot be derived itself; one level of derivation only")
                    }
                    if grandparent != nil {
                        throw ImportError(
                            file: bundle.source, entry: bundle.connectionLabel(index), field: "parent",
                            problem: "\(ImportError.quoted(parentID)) is itself derived from another connection; "
                                + "name the root grant as the parent")
                    }
                }
                // A re-imported parent must still suit the derived children already stored, not only those in
                // the file: otherwise the import succeeds and every later refresh of the child fails.
                for (index, entry) in bundle.connections.enumerated() where entry.credential != .oauth2 {
                    let derivedKinds = GrantKind.allCases.filter(\.derivesFromParent).map(\.rawValue)
                    let placeholders = derivedKinds.map { _ in "?" }.joined(separator: ", ")
                    let children = try database.query(
                        "SELECT id, grant_kind FROM connections "
                            + "WHERE parent_id = ? AND grant_kind IN (\(placeholders)) ORDER BY id LIMIT 1",
                        [entry.id] + derivedKinds
                    ) { ($0.string(0) ?? "", $0.string(1) ?? "") }
                    guard let (child, grant) = children.first else { continue }
                    throw ImportError(
                        file: bundle.source, entry: bundle.connectionLabel(index), field: "credential",
                        problem: "\(ImportError.quoted(entry.id)) holds \(entry.credential.withArticle) credential, "
                            + "not an OAuth 2.0 access token for \(grant) to exchange; connection "
                            + "\(ImportError.quoted(child)) derives its token from it: remove or re-parent "
                            + "\(ImportError.quoted(child)) first")
                }
                return summary
            }
        }
    }

    // MARK: - Refresh outcomes

    /// Stores the tokens of a successful refresh and clears every trace of earlier failures.
    ///
    /// The refresh token is replaced only when the provider rotated it (`grant.refreshToken != nil`).
    /// - Throws: ``StoreError`` when the connection is unknown, or `revoked` when it was revoked while the refresh
    ///   was in flight; the new tokens are then not stored.
    @discardableResult
    public func recordRefreshSuccess(
        connectionID: String, grant: TokenGrant, at: Date, message: String, lease: Lease? = nil
    ) throws -> Connection {
        // The disk is waited for only when the answer rotated the refresh token: losing that write to a power cut
        // would lose the credential, while losing any other refresh result only means refreshing again.
        try update(connectionID, durable: grant.refreshToken != nil) { connection in
            try checkLease(lease, connectionID: connectionID)
            try checkKeyUnchanged()
            let (access, refresh, entry) = try applySuccess(grant, message: message, at: at, to: &connection)
            try database.execute(
                "UPDATE connections SET access_token = ?, refresh_token = COALESCE(?, refresh_token) WHERE id = ?",
                [access, refresh, connectionID])
            return entry
        }
    }

    /// Records a failed refresh; the stored tokens stay as they are.
    ///
    /// - Parameters:
    ///   - retryAt: when the refresh actor will try again, or nil for no retry.
    ///   - reauthReason: set when a human must act; the history entry is then `needsReauth`.
    @discardableResult
    public func recordRefreshFailure(
        connectionID: String, error: ProviderError, retryAt: Date?, reauthReason: String?, at: Date,
        lease: Lease? = nil
    ) throws -> Connection {
        // A failure record lost to a power cut costs one more attempt: no need to wait for the disk.
        try update(connectionID, durable: false) { connection in
            try checkLease(lease, connectionID: connectionID)
            return applyFailure(error, retryAt: retryAt, reauthReason: reauthReason, at: at, to: &connection)
        }
    }

    /// Waits, as any write does, until the database takes a write, and writes nothing: for an action that cannot
    /// be taken back (a revocation at the provider), so that its record is not refused after it was done.
    ///
    /// The statements of a revocation's record run in a transaction that is rolled back: a PostgreSQL role may
    /// read the tables without the right to write them (`GRANT SELECT` only), a server may take no writes at all
    /// (a standby, `default_transaction_read_only`), and only a write says so.
    /// - Parameter connectionID: the connection whose row the record will update.
    /// - Throws: ``StoreError`` when the database takes no write now (another process's lock, a full disk), or
    ///   never will (a file this user may not write, a read-only file system, a role without write privileges).
    public func checkWritable(connectionID: String) throws {
        try locked {
            if let problem = (database as? SQLiteDatabase)?.writeProblem() { throw problem }
            do {
                try database.transaction {
                    try database.execute(Self.writeChecks[0], [connectionID])
                    for statement in Self.writeChecks.dropFirst() { try database.execute(statement) }
                    throw RolledBack()
                }
            } catch is RolledBack {}
        }
    }

    /// Statements that change nothing but need the privileges of a revocation's record: an UPDATE of the
    /// connection's row (its id bound first), then INSERTs into its history, the audit log and the audit anchor's
    /// table that select no row. PostgreSQL checks a statement's privileges before it runs, whatever it matches.
    private static let writeChecks = [
        "UPDATE connections SET generation = generation WHERE id = ?",
        "INSERT INTO history (at, connection_id, kind, message) SELECT at, connection_id, kind, message FROM history "
            + "WHERE 1 = 0",
        "INSERT INTO audit SELECT * FROM audit WHERE 1 = 0",
        "UPDATE meta SET value = value WHERE 1 = 0",
        "INSERT INTO meta (name, value) SELECT name, value FROM meta WHERE 1 = 0",
    ]

    /// Thrown inside ``checkWritable(connectionID:)``'s transaction to roll it back.
    private struct RolledBack: Error {}

    /// Marks a connection revoked and erases both of its stored tokens.
    ///
    /// - Parameters:
    ///   - atProvider: whether the provider confirmed the revocation, or it was recorded here only.
    ///   - error: what the provider answered to a part of the revocation that failed (the access token's, after
    ///     the refresh token's went through); it becomes the connection's last error and rides on the entry.
    @discardableResult
    public func recordRevoked(
        connectionID: String, atProvider: Bool, at: Date, message: String, error: ProviderError? = nil
    ) throws -> Connection {
        try update(connectionID) { connection in
            try database.execute(
                "UPDATE connections SET access_token = NULL, refresh_token = NULL WHERE id = ?", [connectionID])
            connection.revokedAt = at
            connection.revokedAtProvider = atProvider
            connection.retryAt = nil
            if let error { connection.lastError = error }
            return HistoryEntry(at: at, connectionID: connectionID, kind: .revoked, message: message, error: error)
        }
    }

    /// Records a revocation the provider refused or never answered: nothing was revoked and the tokens stay, but
    /// the provider's words become the connection's last error and its history says what failed, as a failed
    /// refresh's do. The failure count and the refresh schedule are the refreshes' and stay as they are.
    @discardableResult
    public func recordRevocationFailure(
        connectionID: String, error: ProviderError, at: Date, message: String
    ) throws -> Connection {
        // Losing it to a power cut loses a record, never a credential: no need to wait for the disk.
        try update(connectionID, durable: false) { connection in
            connection.lastError = error
            return HistoryEntry(
                at: at, connectionID: connectionID, kind: .revocationFailed, message: message, error: error)
        }
    }

    // MARK: - History

    /// Appends one entry to a connection's history.
    /// - Parameter shownHere: whether the caller shows the entry in this process itself, so that this process's
    ///   history feed passes over it (``shownHere``).
    /// - Parameter briefly: whether another process's lock is waited for 100 ms only (see ``waiting(briefly:_:)``).
    public func appendHistory(_ entry: HistoryEntry, shownHere: Bool = false, briefly: Bool = false) throws {
        // In a write transaction, so that history numbers are handed out in commit order on both engines, and a
        // reader following them by number never skips one.
        try locked {
            try waiting(briefly: briefly) { try database.transaction { try insertHistory(entry, shown: shownHere) } }
        }
    }

    /// Runs `body`, a write that may be skipped, waiting at most 100 ms for another process's lock on an SQLite
    /// store when `briefly`, instead of the busy timeout; the caller holds the lock.
    func waiting<T>(briefly: Bool, _ body: () throws -> T) throws -> T {
        guard briefly, let sqlite = database as? SQLiteDatabase else { return try body() }
        return try sqlite.waitingBriefly(body)
    }

    /// The newest `limit` entries of one connection's history, oldest first.
    public func history(connectionID: String, limit: Int) throws -> [HistoryEntry] {
        var unreadable: [String] = []
        return try history(connectionID: connectionID, limit: limit, unreadable: &unreadable)
    }

    /// The newest `limit` entries of one connection's history, oldest first; what is wrong with each of them that
    /// cannot be read (see ``readableHistoryEntry(from:problems:)``) goes to `unreadable`.
    public func history(connectionID: String, limit: Int, unreadable: inout [String]) throws -> [HistoryEntry] {
        var problems: [String] = []
        let entries = try locked {
            try database.query(
                "SELECT \(Self.historyColumns) FROM history WHERE connection_id = ? ORDER BY at DESC, id DESC LIMIT ?",
                [connectionID, max(0, limit)]
            ) { readableHistoryEntry(from: $0, problems: &problems) }.compactMap { $0 }.reversed()
        }
        unreadable += problems
        return Array(entries)
    }

    /// The newest `limit` entries across all connections that can be read, oldest first.
    public func recentHistory(limit: Int) throws -> [HistoryEntry] {
        var problems: [String] = []
        return try locked {
            try database.query(
                "SELECT \(Self.historyColumns) FROM history ORDER BY at DESC, id DESC LIMIT ?", [max(0, limit)]
            ) { readableHistoryEntry(from: $0, problems: &problems) }.compactMap { $0 }.reversed()
        }
    }

    /// Deletes up to `limit` history entries older than `date`, oldest first, in one short transaction that does
    /// not wait for the disk (a lost prune is done again), and returns how many went.
    @discardableResult
    public func pruneHistory(before date: Date, limit: Int = 2_000) throws -> Int {
        try locked {
            try database.withoutWaitingForDisk {
                try database.execute(
                    "DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < ? ORDER BY at LIMIT ?)",
                    [date, max(0, limit)])
            }
            return database.changes
        }
    }

    // MARK: - Helpers

    /// Loads a connection, lets `change` modify it and name its history entry, and writes both in one transaction.
    private func update(
        _ connectionID: String, durable: Bool = true, _ change: (inout Connection) throws -> HistoryEntry
    ) throws -> Connection {
        try locked {
            try database.transaction(durable: durable) {
                guard var connection = try loadConnection(connectionID) else {
                    throw unknownConnection(connectionID)
                }
                let entry = try change(&connection)
                try updateFacts(connection)
                try markChanged(connectionID)
                try insertHistory(entry)
                return connection
            }
        }
    }

    func unknownConnection(_ id: String) -> StoreError {
        StoreError(
            .unknownConnection,
            "no connection named \(SafeText.name(id)) in \(path); `tokentop list` shows the connection ids", path: path)
    }

    /// Whether anything in the store is sealed: a key check, an audit anchor, a client secret or key, a token.
    func holdsSealedValues() throws -> Bool {
        let queries = [
            "SELECT count(*) FROM meta WHERE name IN ('key_check', 'audit_anchor')",
            "SELECT count(*) FROM integrations WHERE client_secret IS NOT NULL",
            "SELECT count(*) FROM connections WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL",
        ]
        for query in queries {
            let count = try database.query(query) { $0.int(0) }.first ?? 0
            if count > 0 { return true }
        }
        return false
    }

    /// Decrypts a stored value, naming the database in the error.
    func unseal(_ sealed: [UInt8], context: String) throws -> Secret {
        try secrets.open(sealed, context: context, describing: "\(context) in \(path)", path: path)
    }

    /// Checks on open that the key opens this database's secrets, so a wrong key fails before anything is written.
    ///
    /// Without a key (a reading command, and no key exists yet) a store that holds no sealed value opens, and its
    /// key check is left for the first command that has a key; one that holds sealed values is refused at once.
    private func verifyKey() throws {
        let context = "meta/key_check"
        let describing = "the secrets of \(path)"
        guard secrets.hasKey else {
            if try holdsSealedValues() { throw secrets.missingKey(describing, path: path) }
            return
        }
        let read = { try self.database.query("SELECT value FROM meta WHERE name = 'key_check'") { $0.blob(0) } }
        if let stored = try read().first ?? nil {
            _ = try secrets.open(stored, context: context, describing: describing, path: path)
            return
        }
        try database.transaction {
            guard try read().isEmpty else { return }
            let sealed = try secrets.seal(Secret("tokentop key check"), context: context)
            try database.execute("INSERT INTO meta (name, value) VALUES ('key_check', ?)", [sealed])
            // The audit log is anchored from the store's birth (an empty log's anchor: entry 0), so that a store
            // whose log and anchor were removed is told from a new one (see ``checkAudit()``).
            let anchors = try database.query("SELECT count(*) FROM meta WHERE name = 'audit_anchor'") { $0.int(0) }
            if anchors.first == 0, try holdsNoRows() {
                try writeAuditAnchor(sequence: 0, hash: AuditEntry.genesis)
            }
        }
        // Another process may have written its check first, with another key.
        if let stored = try read().first ?? nil {
            _ = try secrets.open(stored, context: context, describing: describing, path: path)
        }
    }
}
