import CPostgres
import Foundation

/// The store's tables on a PostgreSQL server, through libpq: the shared store of several refreshers and dashboards.
///
/// Statements are prepared once per connection, with SQLite's `?` placeholders turned into `$1`, `$2`, …; values
/// travel as text and bytea as hex. Write transactions take one advisory lock per database, so they never
/// overlap, as SQLite's write lock keeps them from overlapping: the store's read-then-write logic, its change
/// numbers and its audit chain stay correct on both engines. Claiming due work is the exception that makes several
/// refreshers useful: it locks rows with `FOR UPDATE SKIP LOCKED` and needs no global lock.
///
/// A lost connection is reopened, with backoff, before the next statement; a statement inside a transaction is
/// never retried (the server rolled the transaction back), and the error says that nothing was written.
///
/// No statement waits without limit: another session's lock is waited for 5 seconds (`lock_timeout`, as SQLite's
/// busy timeout), and a statement runs for at most 30 seconds (`statement_timeout`). Either ends as a `busy`
/// ``StoreError``, which callers treat as any problem that may pass: retried while tokentop runs, given up and
/// reported when it stops, within the stop time the README promises.
final class PostgresDatabase: SQLDatabase {
    /// The URL without its password or query, safe to show.
    let location: String
    let dialect = SQLDialect.postgres
    private(set) var changes = 0
    private let url: String
    private var handle: OpaquePointer
    /// Prepared statement names by SQL text, for the current connection.
    private var statements: [String: String] = [:]
    private var inTransaction = false
    /// Whether the open transaction changed something that followers must hear of at its commit.
    private var changedInTransaction = false
    /// The advisory lock every write transaction takes, and the one migrations take.
    static let writeLock: Int64 = 0x746f_6b65_6e74_6f70
    static let migrationLock: Int64 = writeLock + 1
    /// The channel on which every committed change is announced (see ``PostgresListener``).
    static let changeChannel = "tokentop_changes"

    /// Whether `location` names a PostgreSQL store rather than an SQLite file.
    static func isURL(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// `url` without its password, and without the query parameters that carry one (``secretParameters``).
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "the --store URL" }
        components.password = nil
        // A parameter may send the session elsewhere (`?host=/run/other`): shown, all but passwords.
        let shown = components.queryItems?.filter { !Self.secretParameters.contains($0.name.lowercased()) } ?? []
        components.queryItems = shown.isEmpty ? nil : shown
        components.fragment = nil
        return components.string ?? "the --store URL"
    }

    /// The libpq parameters whose value is a secret, left out of a URL shown in messages.
    static let secretParameters: Set<String> = ["password", "sslpassword"]

    /// `text` with the value of each libpq `password` keyword (`password=…`, `password = '…'`) replaced by
    /// `[redacted]`: a `key=value` connection string given where tokentop takes only a URL is quoted back safely.
    static func redactedKeywords(_ text: String) -> String {
        guard text.range(of: "password", options: .caseInsensitive) != nil else { return text }
        // A value is a single-quoted string (with \' and \\ escapes), or runs to the next white space.
        let pattern = #"(?i)\bpassword(\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)"#
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return "the --store value" }
        let range = NSRange(text.startIndex..., in: text)
        return expression.stringByReplacingMatches(in: text, range: range, withTemplate: "password$1[redacted]")
    }

    /// How long a statement waits for another session's lock, in milliseconds (`lock_timeout`).
    let lockTimeoutMilliseconds: Int32
    /// How long one statement may run, in milliseconds (`statement_timeout`).
    static let statementTimeoutMilliseconds: Int32 = 30_000

    /// Connects to `url`, a libpq connection URI (`postgres://USER@HOST:PORT/DB`).
    /// - Parameter lockTimeoutMilliseconds: how long a statement waits for another session's lock before it fails.
    init(url: String, lockTimeoutMilliseconds: Int32 = 5_000) throws {
        self.url = url
        self.lockTimeoutMilliseconds = lockTimeoutMilliseconds
        location = Self.redacted(url)
        let settings = "-c lock_timeout=\(lockTimeoutMilliseconds) "
            + "-c statement_timeout=\(Self.statementTimeoutMilliseconds)"
        handle = try Self.connect(url, location: location, options: settings)
    }

    deinit { PQfinish(handle) }

    /// Whether `url` sets libpq's `options` (`?options=-c%20statement_timeout%3D…`), which replace tokentop's.
    static func setsOptions(_ url: String) -> Bool {
        guard let query = URLComponents(string: url)?.queryItems else { return false }
        return query.contains { $0.name == "options" && !($0.value ?? "").isEmpty }
    }

    /// Opens one connection; shared with ``PostgresListener``.
    /// - Parameter options: server settings for the session (libpq's `options`, `-c name=value …`), which a
    ///   reconnection keeps; the URL's own `options` replace them.
    static func connect(_ url: String, location: String, options: String? = nil) throws -> OpaquePointer {
        // A URL libpq cannot parse is a mistake in what the user typed, not a server that cannot be reached.
        var parseError: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(url, &parseError) {
            PQconninfoFree(options)
        } else {
            // libpq quotes the URL, password and all.
            let detail = (parseError.map { oneLine(String(cString: $0)) } ?? "libpq could not read it")
                .replacingOccurrences(of: url, with: location)
            if let parseError { PQfreemem(parseError) }
            throw StoreError(
                .cannotOpen,
                "\(location) is not a PostgreSQL URL libpq can read (\(detail)); write it as "
                    + "postgres://USER@HOST:PORT/DATABASE", path: location)
        }
        // Defaults first: libpq keeps the last value of a repeated keyword, so the URL's own settings win.
        let keywords = ["connect_timeout", "application_name"] + (options == nil ? [] : ["options"]) + ["dbname"]
        let values = ["5", "tokentop"] + (options.map { [$0] } ?? []) + [url]
        let handle = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                // Both lists end with a null pointer.
                PQconnectdbParams(keywordPointers + [nil], valuePointers + [nil], 1)
            }
        }
        guard let handle else {
            throw StoreError(.unreachable, "cannot connect to \(location): libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let detail = Self.errorText(handle).replacingOccurrences(of: url, with: location)
            PQfinish(handle)
            let lowered = detail.lowercased()
            if lowered.contains("authentication") || lowered.contains("password") || lowered.contains("role") {
                throw StoreError(
                    .cannotOpen,
                    "the PostgreSQL server refused the login to \(location) (\(detail)); check the user name, the "
                        + "password (PGPASSWORD or ~/.pgpass) and the server's pg_hba.conf", path: location)
            }
            if lowered.contains("does not exist") {
                throw StoreError(
                    .cannotOpen,
                    "cannot open \(location): \(detail); create the database (`createdb`), or name another one "
                        + "with --store or TOKENTOP_STORE", path: location)
            }
            guard lowered.contains("connection to server") || lowered.contains("could not translate host") else {
                throw StoreError(
                    .cannotOpen,
                    "cannot connect to \(location) (\(detail)); check the URL's parameters", path: location)
            }
            throw StoreError(
                .unreachable,
                "cannot reach the PostgreSQL server of \(location) (\(detail)); check that it runs and that the "
                    + "host and port are right", path: location)
        }
        // The server's notices (say, "relation already exists, skipping") are not for the operator's terminal.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        if PQserverVersion(handle) < 90500 {
            let version = PQserverVersion(handle)
            PQfinish(handle)
            throw StoreError(
                .cannotOpen,
                "the PostgreSQL server of \(location) is version \(version / 10000); tokentop needs 9.5 or newer "
                    + "(for SKIP LOCKED)", path: location)
        }
        return handle
    }

    // MARK: - Statements

    func execute(_ sql: String, _ values: [any SQLBindable]) throws {
        _ = try query(sql, values, capacity: 0) { _ in () }
    }

    func query<T>(
        _ sql: String, _ values: [any SQLBindable], capacity: Int, row: (SQLRow) throws -> T
    ) throws -> [T] {
        let result = try run(sql, values)
        defer { PQclear(result) }
        let count = PQntuples(result)
        var rows: [T] = []
        rows.reserveCapacity(max(capacity, Int(count)))
        for index in 0..<count { rows.append(try row(SQLRow(source: .postgres(result, index)))) }
        return rows
    }

    /// How many rows ``forEachRow(_:_:)`` fetches at a time.
    static let cursorBlock = 1_000

    func forEachRow(_ sql: String, _ row: (SQLRow) throws -> Void) throws {
        precondition(inTransaction, "a cursor lives only as long as its transaction")
        // One cursor at a time: `row` does not start another.
        try command("DECLARE tokentop_rows NO SCROLL CURSOR FOR \(sql)")
        do {
            while true {
                let result = try attempt(retry: false, doing: "reading rows from") {
                    PQexec(handle, "FETCH \(Self.cursorBlock) FROM tokentop_rows")
                }
                defer { PQclear(result) }
                let count = PQntuples(result)
                for index in 0..<count { try row(SQLRow(source: .postgres(result, index))) }
                if count < Self.cursorBlock { break }
            }
        } catch {
            // A caller that goes on in the same transaction may read rows again.
            try? command("CLOSE tokentop_rows")
            throw error
        }
        try command("CLOSE tokentop_rows")
    }

    /// Prepares (once) and runs one statement, reopening a lost connection first when no transaction is open.
    private func run(_ sql: String, _ values: [any SQLBindable]) throws -> OpaquePointer {
        let texts = values.map { Self.text($0.sqlValue) }
        // A read changes nothing, so it may be sent again on a new connection; a write may have committed before
        // the connection broke, so its caller hears of the loss instead.
        let reads = sql.hasPrefix("SELECT") && !sql.contains("pg_notify") && !sql.contains("FOR UPDATE")
        return try attempt(retry: reads, doing: "running a statement on") {
            let name = try prepared(sql)
            return withOptionalCStrings(texts) { pointers in
                PQexecPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
            }
        }
    }

    /// Runs a statement that takes no values and is not worth preparing (transaction control).
    private func command(_ sql: String) throws {
        // BEGIN is sent before anything else of a transaction: on a broken connection, nothing was done yet.
        let result = try attempt(retry: sql.hasPrefix("BEGIN"), doing: "running \(sql.prefix(20)) on") {
            PQexec(handle, sql)
        }
        PQclear(result)
    }

    /// Sends a statement; when the connection turns out to be broken outside a transaction and `retry` allows,
    /// reconnects and sends it once more.
    private func attempt(
        retry: Bool, doing: String, _ send: () throws -> OpaquePointer?
    ) throws -> OpaquePointer {
        try reconnectIfNeeded()
        let result: OpaquePointer?
        do {
            result = try send()
        } catch let error as StoreError where error.code == .unreachable && retry && !inTransaction {
            // Preparing found the connection broken: nothing ran.
            try reconnectIfNeeded()
            return try check(try send(), doing: doing)
        }
        if retry, !inTransaction, PQstatus(handle) != CONNECTION_OK {
            PQclear(result)
            try reconnectIfNeeded()
            return try check(try send(), doing: doing)
        }
        return try check(result, doing: doing)
    }

    private func prepared(_ sql: String) throws -> String {
        if let name = statements[sql] { return name }
        let name = "tt\(statements.count + 1)"
        let translated = Self.numberedPlaceholders(sql)
        PQclear(try check(PQprepare(handle, name, translated, 0, nil), doing: "preparing a statement for"))
        statements[sql] = name
        return name
    }

    /// Turns each `?` outside quotes into `$1`, `$2`, … in order.
    static func numberedPlaceholders(_ sql: String) -> String {
        var output = ""
        output.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?", !quoted {
                number += 1
                output += "$\(number)"
            } else {
                output.append(character)
            }
        }
        return output
    }

    /// A value in PostgreSQL's text input form.
    private static func text(_ value: SQLValue) -> String? {
        switch value {
        case .null: return nil
        case .text(let text): return text
        case .integer(let integer): return String(integer)
        case .real(let real): return "\(real)"
        case .blob(let bytes):
            let digits: [UInt8] = Array("0123456789abcdef".utf8)
            var hex: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            hex.reserveCapacity(2 + bytes.count * 2)
            for byte in bytes {
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0xf)])
            }
            return String(decoding: hex, as: UTF8.self)
        }
    }

    /// Decodes bytea's hex output (`\x` then two digits a byte).
    static func decodeHex(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return Array(text) }
        func nibble(_ digit: UInt8) -> UInt8 {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: digit &- UInt8(ascii: "A") &+ 10
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index + 1 < text.count {
            bytes.append(nibble(text[index]) << 4 | nibble(text[index + 1]))
            index += 2
        }
        return bytes
    }

    // MARK: - Transactions

    func transaction<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        try transaction(lock: Self.writeLock, durable: durable, body)
    }

    func migrationTransaction(_ body: () throws -> Void) throws {
        // A process that starts while another migrates waits for it as long as it takes, as before: a migration of
        // a large store may take longer than the statements' own bounds, and waiting for one is no stop.
        try inTransaction(begin: "BEGIN") {
            try command("SET LOCAL lock_timeout = 0")
            try command("SET LOCAL statement_timeout = 0")
            try command("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            try body()
        }
    }

    func claimTransaction<T>(_ body: () throws -> T) throws -> T {
        try transaction(lock: nil, durable: false, body)
    }

    /// - Parameter lock: the advisory lock to hold until the end, or nil for one that locks only its rows.
    private func transaction<T>(lock: Int64?, durable: Bool, _ body: () throws -> T) throws -> T {
        try inTransaction(begin: "BEGIN") {
            // Held until COMMIT or ROLLBACK: writers take turns, as they do on SQLite.
            if let lock { try command("SELECT pg_advisory_xact_lock(\(lock))") }
            if !durable { try command("SET LOCAL synchronous_commit = off") }
            return try body()
        }
    }

    /// REPEATABLE READ: every statement sees the moment of the first, and no lock holds up the writers.
    func snapshot<T>(_ body: () throws -> T) throws -> T {
        try inTransaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Runs `body` between `begin` and COMMIT, rolling back when it throws.
    private func inTransaction<T>(begin: String, _ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "PostgresDatabase transactions do not nest")
        try command(begin)
        inTransaction = true
        changedInTransaction = false
        defer { inTransaction = false }
        do {
            let value = try body()
            // One notice per transaction, however many rows it changed; PostgreSQL delivers it at the commit.
            if changedInTransaction { try command("SELECT pg_notify('\(Self.changeChannel)', '')") }
            try command("COMMIT")
            return value
        } catch {
            if PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) != PQTRANS_IDLE {
                PQclear(PQexec(handle, "ROLLBACK"))
            }
            throw error
        }
    }

    func announceChange() throws {
        if inTransaction {
            changedInTransaction = true
        } else {
            try command("SELECT pg_notify('\(Self.changeChannel)', '')")
        }
    }

    func withoutWaitingForDisk<T>(_ body: () throws -> T) throws -> T {
        try command("SET synchronous_commit = off")
        defer { if PQstatus(handle) == CONNECTION_OK { PQclear(PQexec(handle, "SET synchronous_commit = on")) } }
        return try body()
    }

    // MARK: - Schema

    func schemaVersion() throws -> Int {
        // Read from the catalog with a fresh snapshot: to_regclass would answer from this session's cache, which a
        // migration committed by another process while this one waited for the lock has not invalidated yet.
        let exists = try query(
            "SELECT count(*) > 0 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                + "AND tablename = 'tokentop_schema'"
        ) { $0.bool(0) }
        guard exists.first == true else { return 0 }
        return try query("SELECT COALESCE(MAX(version), 0) FROM tokentop_schema") { $0.int(0) }.first ?? 0
    }

    func setSchemaVersion(_ version: Int) throws {
        try command("CREATE TABLE IF NOT EXISTS tokentop_schema (version BIGINT NOT NULL)")
        try command("DELETE FROM tokentop_schema")
        try command("INSERT INTO tokentop_schema (version) VALUES (\(version))")
    }

    func columns(of table: String) throws -> [String] {
        try query(
            """
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position
            """, [table]
        ) { $0.string(0) ?? "" }
    }

    func foreignTables() throws -> [String] {
        try query(
            """
            SELECT table_name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_name <> 'tokentop_schema' ORDER BY table_name
            """
        ) { $0.string(0) ?? "" }
    }

    // MARK: - Connection and errors

    /// Reopens a lost connection, waiting longer after each failure, before a statement outside a transaction.
    private func reconnectIfNeeded() throws {
        guard PQstatus(handle) != CONNECTION_OK else { return }
        guard !inTransaction else {
            throw StoreError(
                .unreachable,
                "lost the connection to \(location) in the middle of a transaction; the server rolled it back, so "
                    + "nothing of it was written", path: location)
        }
        statements = [:]
        var delay = 0.1
        var lastError: (any Error)?
        for _ in 0..<6 {
            PQreset(handle)
            if PQstatus(handle) == CONNECTION_OK {
                PQsetNoticeProcessor(handle, { _, _ in }, nil)
                return
            }
            lastError = StoreError(.unreachable, Self.errorText(handle))
            Thread.sleep(forTimeInterval: delay)
            delay *= 2
        }
        throw StoreError(
            .unreachable,
            "lost the connection to \(location) and could not reconnect for 6 seconds "
                + "(\((lastError as? StoreError)?.message ?? "no answer")); check that the server runs; nothing "
                + "was written", path: location)
    }

    /// Returns a successful result, or clears it and throws what went wrong.
    private func check(_ result: OpaquePointer?, doing: String) throws -> OpaquePointer {
        if let result {
            let status = PQresultStatus(result)
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK {
                changes = Int(String(cString: PQcmdTuples(result))) ?? 0
                return result
            }
        }
        defer { PQclear(result) }
        throw failure(result, doing: doing)
    }

    private func failure(_ result: OpaquePointer?, doing: String) -> StoreError {
        let field = { (code: Character) -> String? in
            guard let result, let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii))
            else { return nil }
            return String(cString: value)
        }
        let state = field("C") ?? ""
        let detail = field("M") ?? Self.errorText(handle)
        if PQstatus(handle) != CONNECTION_OK || state.hasPrefix("08") || state == "57P01" {
            return StoreError(
                .unreachable,
                "lost the connection to \(location) while \(doing) it (\(detail)); the statement was not "
                    + "committed; tokentop reconnects on the next try", path: location)
        }
        switch state {
        case "53100", "53200":
            return StoreError(
                .diskFull,
                "the PostgreSQL server of \(location) is out of disk space or memory (\(detail)); nothing was "
                    + "changed", path: location)
        case "25006", "42501":
            return StoreError(
                .readOnly,
                "cannot write \(location) (\(detail)); grant the user write access, or use a writable server",
                path: location)
        case "55P03":
            return StoreError(
                .busy,
                "\(location) stayed locked by another process for more than \(Self.seconds(lockTimeoutMilliseconds)) "
                    + "(\(detail)); retry; nothing was changed", path: location)
        case "57014":
            // The URL's own `options` replace tokentop's limit (see ``connect(_:location:options:)``).
            let limit =
                Self.setsOptions(url)
                ? "the statement_timeout of the URL's options" : Self.seconds(Self.statementTimeoutMilliseconds)
            return StoreError(
                .busy,
                "\(location) did not finish a statement within \(limit) "
                    + "(\(detail)); the server may be overloaded or another process holds what it needs; retry; "
                    + "nothing was changed", path: location)
        case "40P01", "40001":
            return StoreError(
                .busy,
                "\(location) was locked by another process (\(detail)); retry; nothing was changed", path: location)
        default:
            return StoreError(
                .postgres, "PostgreSQL failed while \(doing) \(location): \(detail) (SQLSTATE \(state))",
                path: location)
        }
    }

    /// A time limit in words: `5 seconds`, `250 ms`.
    private static func seconds(_ milliseconds: Int32) -> String {
        guard milliseconds % 1_000 == 0 else { return "\(milliseconds) ms" }
        return milliseconds == 1_000 ? "1 second" : "\(milliseconds / 1_000) seconds"
    }

    /// libpq's last message on `handle`, on one line.
    static func errorText(_ handle: OpaquePointer) -> String {
        guard let text = PQerrorMessage(handle) else { return "no message" }
        return oneLine(String(cString: text))
    }
}

/// libpq's multi-line, tab-indented messages on one line.
private func oneLine(_ text: String) -> String {
    text.split(whereSeparator: { $0.isNewline || $0 == "\t" || $0 == " " }).joined(separator: " ")
}

/// Calls `body` with C strings of `strings`, valid only during the call.
private func withCStrings<T>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
    withOptionalCStrings(strings.map { Optional($0) }, body)
}

/// Calls `body` with C strings of `strings` (nil stays nil), valid only during the call.
private func withOptionalCStrings<T>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> T) -> T {
    let copies = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
