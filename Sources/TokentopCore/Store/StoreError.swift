/// Why the store could not do what it was asked, and what the user can do about it.
///
/// Every failure of SQLite, of the key or of a lookup in the store reaches callers as a `StoreError`. The `message`
/// is written for the person at the terminal: it names the file and says how to fix the problem.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: String, Sendable, Equatable {
        /// The file or its directory cannot be opened or created, or the PostgreSQL server refused the login.
        case cannotOpen = "cannot_open"
        /// The file is not an SQLite database, or it is corrupt.
        case notADatabase = "not_a_database"
        /// The file, its directory or the filesystem does not allow writing.
        case readOnly = "read_only"
        /// Another process held the database lock for longer than the busy timeout.
        case busy
        /// The disk (or a quota) is full.
        case diskFull = "disk_full"
        /// The operating system reported an I/O error.
        case ioError = "io_error"
        /// The database was written by a newer tokentop, whose schema this binary does not know.
        case newerSchema = "newer_schema"
        /// A stored secret cannot be decrypted: the wrong key, or a damaged value.
        case cannotDecrypt = "cannot_decrypt"
        /// The encryption key is missing, malformed or stored unsafely.
        case badKey = "bad_key"
        /// OpenSSL or the system's random number generator failed.
        case crypto
        /// No connection has the given id.
        case unknownConnection = "unknown_connection"
        /// No integration has the given id.
        case unknownIntegration = "unknown_integration"
        /// An operator's change was refused before anything was written, and the message says why (a connection
        /// that still holds a live token, one that others derive from, an integration still in use).
        case refused
        /// The connection was revoked, so the store refused to give it new tokens.
        case revoked
        /// Another process took over the connection's refresh lease; this process's result was not stored.
        case leaseLost = "lease_lost"
        /// Another process re-keyed the database; this process's key no longer opens it.
        case keyChanged = "key_changed"
        /// Any other SQLite failure; the message carries SQLite's own words.
        case sqlite
        /// The PostgreSQL server cannot be reached, or the connection to it was lost.
        case unreachable
        /// Any other PostgreSQL failure; the message carries the server's own words and its SQLSTATE.
        case postgres
        /// A signal stopped the command (``Store/interrupt()``); its transaction was rolled back.
        case interrupted
    }

    /// The kind of failure.
    public var code: Code
    /// What happened and how to fix it, in one or two sentences.
    public var message: String
    /// The file the failure concerns (the database or the key file), when there is one.
    public var path: String?
    /// SQLite's extended result code, when SQLite reported the failure.
    public var sqliteResult: Int?
    /// What a store that failed to open had made (a new database file, its key file), for an import to take away
    /// again; see ``NewStoreFiles/leaving(_:after:)``.
    var leftBehind: NewStoreFiles?
    /// Whether this is a row's value this tokentop cannot read (``UnreadableConnection``), set where such a value
    /// is met, not a failure of the store itself.
    var isUnreadableRow = false

    /// Creates an error; `message` should already name the file and say how to fix the problem.
    public init(_ code: Code, _ message: String, path: String? = nil, sqliteResult: Int? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.sqliteResult = sqliteResult
    }

    public var description: String { message }

    /// What went wrong, without the advice that follows it ("…; then retry; nothing was changed"): for a message
    /// about a write that is still being tried, or was given up after something else happened.
    public var fact: String { message.split(separator: ";", maxSplits: 1).first.map(String.init) ?? message }

    /// Whether the problem may pass by itself (another process's lock, a full disk, a failing disk or a lost server):
    /// a write worth keeping, such as new tokens a provider has issued, is tried again rather than dropped.
    public var mayPass: Bool { [.busy, .diskFull, .ioError, .unreachable].contains(code) }
}
