import CCrypto
import Foundation

/// The key file: base64 of 32 random bytes on one line, mode 0600, created on first use.
enum KeyFile {
    /// Reads the key at `path`, creating the file with a fresh random key when it does not exist.
    /// - Returns: the key, and whether this call created the file (rather than read one that was there, or one
    ///   another process created first).
    static func readOrCreate(path: String) throws -> (key: [UInt8], created: Bool) {
        if let key = try read(path: path) { return (key, false) }
        let created = try create(path: path)
        guard let key = try read(path: path) else {
            throw StoreError(.badKey, "the key file \(path) vanished right after it was created; retry", path: path)
        }
        return (key, created)
    }

    /// The key in the file at `path`, or nil when there is no such file.
    static func read(path: String) throws -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            let code = errno
            if code == ENOENT, let target = danglingLink(path) {
                // Not "no key file": no key can be made there (a new one is never written through a link), and a
                // store made meanwhile would be left behind.
                throw StoreError(
                    .badKey,
                    "the key file \(path) is a symbolic link to \(target), which leads to no file; point it at the "
                        + "key file, or remove it to have a new key made there", path: path)
            }
            let directory = Paths.folder(of: path)
            if code == ENOENT, let target = danglingLink(directory) {
                throw StoreError(
                    .badKey,
                    "the key file's directory \(directory) is a symbolic link to \(target), which leads to no "
                        + "directory; point it at one, or remove it to have one made there", path: path)
            }
            if code == ENOENT { return nil }
            throw StoreError(
                .badKey,
                "cannot read the key file \(path) (\(String(cString: strerror(code)))); "
                    + "check its owner and mode, or set \(SecretBox.keyVariable)", path: path)
        }
        defer { close(descriptor) }
        // Checked on the open descriptor, so the file cannot be swapped between the check and the read.
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.badKey, "the key file \(path) is not a regular file; move it aside", path: path)
        }
        guard info.st_uid == geteuid() else {
            throw StoreError(
                .badKey,
                "the key file \(path) belongs to another user (uid \(info.st_uid)); "
                    + "tokentop uses only a key file you own", path: path)
        }
        guard info.st_mode & 0o077 == 0 else {
            throw StoreError(
                .badKey,
                "the key file \(path) can be read by other users (mode "
                    + "\(PrivateFiles.octal(info.st_mode))); run `chmod 600 \(path)` and check who could have read it",
                path: path)
        }
        var buffer = [UInt8](repeating: 0, count: 512)
        defer { OPENSSL_cleanse(&buffer, buffer.count) }
        var total = 0
        while total < buffer.count {
            let count = buffer.withUnsafeMutableBytes { raw in
                Foundation.read(descriptor, raw.baseAddress! + total, raw.count - total)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw StoreError(
                    .badKey, "cannot read the key file \(path) (\(String(cString: strerror(errno))))",
                    path: path)
            }
            if count == 0 { break }
            total += count
        }
        let text = String(decoding: buffer.prefix(total), as: UTF8.self)
        return try SecretBox.decodeKey(text, origin: "the key file \(path)", path: path)
    }

    /// Where the symbolic link at `path` points, when `path` is one and it leads to nothing (its target, or the
    /// target's target, does not exist).
    private static func danglingLink(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, stat(path, &info) != 0 else { return nil }
        return (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "a missing file"
    }

    /// Writes a fresh key to `path`, unless another process does so first.
    ///
    /// The key is written to a private temporary file and then hard-linked into place, so a reader never sees a
    /// half-written key and two processes starting together end up sharing one key.
    /// - Returns: whether this call wrote the file; false when another process's was there first.
    /// - Parameter failure: the error for a file that cannot be written, from its path and `errno`.
    @discardableResult
    static func create(path: String, failure: (String, Int32) -> StoreError = failure) throws -> Bool {
        try PrivateFiles.makeDirectory(Paths.directory(of: path), for: "the key file")
        var key = [UInt8](repeating: 0, count: SecretBox.keyLength)
        guard RAND_bytes(&key, Int32(key.count)) == 1 else {
            throw StoreError(.crypto, "the system's random number generator failed; cannot create \(path)")
        }
        var line = Array((Data(key).base64EncodedString() + "\n").utf8)
        defer {
            OPENSSL_cleanse(&key, key.count)
            OPENSSL_cleanse(&line, line.count)
        }
        let temporary = "\(path).\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure(path, errno) }
        defer { unlink(temporary) }
        let written = line.withUnsafeBytes { raw in write(descriptor, raw.baseAddress, raw.count) }
        let synced = fsync(descriptor)
        let code = errno
        close(descriptor)
        guard written == line.count, synced == 0 else { throw failure(path, code) }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { return false }
            throw failure(path, errno)
        }
        return true
    }

    private static func failure(_ path: String, _ code: Int32) -> StoreError {
        StoreError(
            .badKey,
            "cannot create the key file \(path) (\(String(cString: strerror(code)))); make its "
                + "directory writable, or set \(SecretBox.keyVariable) to the base64 of 32 random bytes", path: path)
    }

    /// Keeps the key at `path` as `path.replaced-TIME` (a hard link, so mode 0600 stays) before it is replaced.
    /// - Parameter file: the file to keep under that name, when it is not `path` itself (a staged key).
    static func retain(path: String, file: String? = nil) throws {
        let stamp = RFC3339.string(from: Date()).replacingOccurrences(of: ":", with: "")
        var target = "\(path).replaced-\(stamp)"
        var attempt = 1
        // The link itself claims the name: another rekey may keep a key under the same second's name meanwhile.
        while link(file ?? path, target) != 0 {
            guard errno == EEXIST else { throw failure(target, errno) }
            attempt += 1
            target = "\(path).replaced-\(stamp)-\(attempt)"
        }
    }

    /// Runs `body` while no other `rekey` of a store whose key is the file at `path` runs: each stages, keeps and
    /// moves the files beside it, and two at once moved each other's new key away. They take turns on a lock of
    /// the key's directory; the second then finds its store re-keyed, and says so.
    static func whileRekeying<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let directory = open(Paths.folder(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return try body() }
        defer { close(directory) }
        while flock(directory, LOCK_EX) != 0, errno == EINTR {}
        return try body()
    }

    /// The file the key file at `path` is, through any symbolic links (a key kept on a secrets mount and linked to
    /// from the config directory): `rekey` stages, keeps and replaces the key there, leaving the link in place;
    /// replacing the link itself left the old key behind it and the new one beside the link. `path` itself when it
    /// leads nowhere.
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }

    /// Where `rekey` writes the new key for the key file at `path` before the database is sealed under it.
    static func staged(_ path: String) -> String { path + ".new" }

    /// Keeps a staged key that a `rekey` left behind as a kept key, before another `rekey` stages its own: the
    /// rekey that wrote it stopped (killed, a power cut) after sealing its database under it and before moving it
    /// onto `path`, and it may be that database's only key. It was deleted, and that database with it.
    static func keepStaged(of path: String) throws {
        let staged = staged(path)
        guard FileManager.default.fileExists(atPath: staged) else { return }
        try retain(path: path, file: staged)
        unlink(staged)
    }

    /// The kept keys beside `path`, newest first, after a staged key a stopped `rekey` left (``keepStaged(of:)``).
    static func retained(besides path: String) -> [String] {
        let directory = Paths.folder(of: path)
        let prefix = Paths.name(of: path) + ".replaced-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let staged = FileManager.default.fileExists(atPath: staged(path)) ? [staged(path)] : []
        return staged + names.filter { $0.hasPrefix(prefix) }.sorted(by: >).map { directory + "/" + $0 }
    }
}
