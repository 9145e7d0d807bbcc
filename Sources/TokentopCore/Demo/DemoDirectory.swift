import Foundation

/// The private directory a demo keeps its throwaway database in, under the system's temporary directory.
///
/// A running demo holds a lock on a file inside it. A demo that ends removes its directory; one killed outright
/// (SIGKILL, or a terminal closed while refreshes were still being stored) cannot, so each new demo first removes
/// the directories of this user's demos whose lock nobody holds any more.
public final class DemoDirectory: Sendable {
    /// The directory, such as `/tmp/tokentop-demo-Ab12Cd`.
    public let path: String
    /// The open lock file, locked for as long as this demo runs.
    private let lock: Int32

    static let prefix = "tokentop-demo-"
    static let lockName = "running.lock"
    /// What a demo writes into its directory; a directory holding anything else is never removed by another demo.
    static let knownNames: Set<String> = [lockName, "demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm"]

    /// Makes a new directory (mode 0700) in `parent` and locks it, after removing stale ones there.
    /// - Throws: ``StoreError`` naming `parent` when the directory cannot be made.
    public init(in parent: String = FileManager.default.temporaryDirectory.path) throws {
        Self.removeStale(in: parent)
        // Never one a killed demo left under a reused process id, whose database was sealed under that demo's key.
        var template = Array((parent + "/" + Self.prefix + "XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw StoreError(
                .cannotOpen,
                "cannot create a directory for the demo's database in \(parent): " + String(cString: strerror(errno)),
                path: parent)
        }
        path = String(cString: made)
        lock = open(path + "/" + Self.lockName, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        // Without its lock the directory looks stale to the next demo, which may then remove it under this one.
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            if lock >= 0 { close(lock) }
            try? FileManager.default.removeItem(atPath: path)
            throw StoreError(.cannotOpen, "cannot lock the demo's directory \(path): \(reason)", path: path)
        }
    }

    /// The demo's database file.
    public var database: String { path + "/demo.sqlite3" }

    /// Removes the directory and lets go of its lock.
    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
        close(lock)
    }

    /// Removes the demo directories in `parent` that are this user's, hold only what a demo writes, and whose lock
    /// no process holds; leaves everything else as it is.
    static func removeStale(in parent: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        for name in names where name.hasPrefix(prefix) && name.count == prefix.count + 6 {
            let directory = parent + "/" + name
            var info = stat()
            // lstat: a link named like a demo directory is not followed, and another user's directory is not touched.
            guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid(),
                let contents = try? FileManager.default.contentsOfDirectory(atPath: directory),
                contents.allSatisfy(knownNames.contains), contents.contains(lockName)
            else { continue }
            let lock = open(directory + "/" + lockName, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
            guard lock >= 0 else { continue }
            defer { close(lock) }
            // Held: that demo still runs. A lock file under a minute old may be one a demo is about to lock.
            var lockInfo = stat()
            guard fstat(lock, &lockInfo) == 0, time(nil) - lockInfo.st_mtim.tv_sec > 60,
                flock(lock, LOCK_EX | LOCK_NB) == 0
            else { continue }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
