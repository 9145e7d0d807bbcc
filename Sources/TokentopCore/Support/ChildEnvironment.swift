import Foundation

/// The environment of every process tokentop starts (the event command, the clipboard tools, the browser opener):
/// this process's own, without the variables that carry key material or the store's credentials.
///
/// A child needs `PATH`, `HOME` and the display, never the key that opens every sealed secret, nor the password of
/// the store that holds them: an event command that logs its environment, or a browser that crashes with a report,
/// must not take either with it.
public enum ChildEnvironment {
    /// The variables no child inherits: the store's key, and the key `rekey` moves to; the store, which
    /// `TOKENTOP_STORE` (and `TOKENTOP_DB` alike) may name as a PostgreSQL URL with its password; and
    /// `PGPASSWORD`, where libpq finds the store's password when the URL has none.
    public static let withheld: Set<String> = [
        SecretBox.keyVariable, Store.newKeyVariable, "TOKENTOP_STORE", "TOKENTOP_DB", "PGPASSWORD",
    ]

    /// `environment` without ``withheld``.
    public static func variables(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        environment.filter { !withheld.contains($0.key) }
    }

    /// Calls `body` with this process's environment, without ``withheld``, as the `NAME=value` array that
    /// `posix_spawn` and `execve` take; the strings live until `body` returns.
    static func withEntries<Result>(
        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Result
    ) -> Result {
        var entries: [UnsafeMutablePointer<CChar>?] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if !withheld.contains(String(name)) { entries.append(strdup(entry)) }
            cursor += 1
        }
        entries.append(nil)
        defer { entries.forEach { free($0) } }
        return entries.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
