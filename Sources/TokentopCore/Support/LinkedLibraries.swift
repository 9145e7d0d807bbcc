import CCrypto
import CSQLite

/// The versions of the C libraries linked in, for `tokentop --version` and bug reports.
public enum LinkedLibraries {
    /// For example `SQLite 3.40.1`.
    public static var sqlite: String { "SQLite " + String(cString: sqlite3_libversion()) }

    /// For example `OpenSSL 3.0.19 27 Jan 2026`.
    public static var openssl: String {
        OpenSSL_version(Int32(OPENSSL_VERSION)).map { String(cString: $0) } ?? "OpenSSL"
    }
}
