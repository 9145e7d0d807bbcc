import CCrypto
import Foundation

/// What `tokentop rekey` did.
public struct RekeyOutcome: Sendable, Equatable {
    /// How many secrets were re-encrypted.
    public var secrets: Int
    /// Where the new key lives now, in words for the operator.
    public var keyLocation: String
    /// True when the store held nothing sealed, so that nothing was done: no new key, no key file renamed.
    public var keyUnchanged = false
}

extension Store {
    /// The environment variable that carries the key `rekey` moves to, as base64 of 32 bytes.
    public static let newKeyVariable = "TOKENTOP_NEW_KEY"

    /// What a rekey records in the audit log, in the transaction that re-encrypts: a rekey stopped before its last
    /// step (the key file's rename) left the store under its new key and no entry saying so.
    struct RekeyAudit {
        var user: String
        var at: Date
        var detail: (Int) -> String
    }

    /// Re-encrypts every secret with `newBox` in one transaction, then uses `newBox` from here on.
    ///
    /// - Parameter audit: the audit entry to write in the same transaction, sealed under `newBox`.
    /// - Returns: how many secrets were re-encrypted.
    /// - Throws: ``StoreError``; on any error nothing is changed and the old key still opens everything.
    @discardableResult
    func rekey(to newBox: SecretBox, audit: RekeyAudit? = nil) throws -> Int {
        try locked {
            let previous = secrets
            // The entry's anchor is sealed, and the key checked, under the new key, written just before it.
            defer { if secrets !== newBox { secrets = previous } }
            let count = try database.transaction { () -> Int in
                do {
                    try checkKeyUnchanged()
                } catch let error as StoreError where error.code == .keyChanged {
                    // Another rekey committed since this store was opened: its key is not this process's.
                    throw StoreError(
                        .keyChanged,
                        "\(path) was re-keyed by another process (another rekey) after this rekey opened it; "
                            + "nothing was changed; that rekey said where its key is now", path: path)
                }
                var count = 0
                func reseal(_ table: String, _ column: String, context: (String) -> String) throws {
                    let rows = try database.query(
                        "SELECT id, \(column) FROM \(table) WHERE \(column) IS NOT NULL"
                    ) { ($0.string(0) ?? "", $0.blob(1) ?? []) }
                    for (id, sealed) in rows {
                        let secret = try unseal(sealed, context: context(id))
                        let resealed = try newBox.seal(secret, context: context(id))
                        try database.execute("UPDATE \(table) SET \(column) = ? WHERE id = ?", [resealed, id])
                        count += 1
                    }
                }
                try reseal("integrations", "client_secret", context: Self.clientSecretContext)
                try reseal("connections", "access_token", context: Self.accessTokenContext)
                try reseal("connections", "refresh_token", context: Self.refreshTokenContext)
                let check = try newBox.seal(Secret("tokentop key check"), context: "meta/key_check")
                try database.execute("UPDATE meta SET value = ? WHERE name = 'key_check'", [check])
                let anchors = try database.query("SELECT value FROM meta WHERE name = 'audit_anchor'") { $0.blob(0) }
                if let sealed = anchors.first ?? nil {
                    let anchor = try newBox.seal(
                        try unseal(sealed, context: Self.auditAnchorContext), context: Self.auditAnchorContext)
                    try database.execute("UPDATE meta SET value = ? WHERE name = 'audit_anchor'", [anchor])
                }
                if let audit {
                    secrets = newBox
                    defer { secrets = previous }
                    try insertAudit(
                        action: .rekey, target: nil, outcome: "ok", detail: audit.detail(count), user: audit.user,
                        at: audit.at)
                }
                return count
            }
            secrets = newBox
            return count
        }
    }

    /// ``rekey(to:audit:)`` without an audit entry, for tests and tools.
    @discardableResult
    public func rekey(to newBox: SecretBox) throws -> Int { try rekey(to: newBox, audit: nil) }

    /// `tokentop rekey`: a new key for the database at `path`, and every secret re-encrypted under it.
    ///
    /// The new key is `TOKENTOP_NEW_KEY` when set. Otherwise, when the key comes from the key file, a fresh random
    /// key is written beside it first, the database is re-encrypted, and only then does the new file replace the
    /// old one, so that no moment exists in which the key on disk cannot open the database for good.
    public static func rekey(
        path: String, environment: [String: String], user: String, at now: Date
    ) throws -> RekeyOutcome {
        // No key is created to open it: one the store was not sealed with could only fail to open its secrets.
        let (store, _) = try Store.open(path: path, environment: environment, create: false, createKey: false)
        let current = store.secrets
        if current.hasKey, (environment[newKeyVariable] ?? "").isEmpty, try store.sealedSecretCount() == 0 {
            // A new key file would rename the one every other store that shares it opens with, for nothing.
            return RekeyOutcome(secrets: 0, keyLocation: current.keySource, keyUnchanged: true)
        }
        // A running dashboard, daemon, `refresh` or `reauth` would go on sealing with the old key: stop them first.
        // One killed on this host (kill -9) left its heartbeat behind, but its process id is gone: it seals nothing.
        let window = Self.heartbeatWindow
        let running = try store.liveRefreshers(at: now)
        guard running.isEmpty else {
            let named = running.map { process in
                "\(process.owner), seen \(max(0, Countdown.wholeSeconds(now.timeIntervalSince(process.lastSeen))))s ago"
            }
            let latest = running.map(\.lastSeen).max() ?? now
            let expires = Countdown.format(seconds: max(1, latest.addingTimeInterval(window).timeIntervalSince(now)))
            throw StoreError(
                .busy,
                "\(counted(running.count, "tokentop process", "tokentop processes")) "
                    + "\(running.count == 1 ? "is" : "are") using \(path) (\(named.joined(separator: "; "))); stop "
                    + "every dashboard and daemon on it and let any refresh or revoke command end, then run rekey "
                    + "again; an entry of a process that stopped "
                    + "without saying so (on another host, or with its id reused) may be stale and expires within "
                    + "\(expires); nothing was changed", path: path)
        }
        let audit = RekeyAudit(user: user, at: now) { "\($0) secrets re-encrypted" }
        do {
            return try rotate(store, current: current, environment: environment, audit: audit)
        } catch {
            // Once the store is sealed under the new key its entry is written; what failed after it (the key
            // file's rename) the error says.
            if store.secrets === current {
                _ = try? store.appendAudit(
                    action: .rekey, target: nil, outcome: "failed", detail: "\(error)", user: user, at: now,
                    briefly: (error as? StoreError)?.code == .busy)
            }
            throw error
        }
    }

    /// How long a refresher's heartbeat (written every second) counts it as running, for `rekey`.
    static let heartbeatWindow: TimeInterval = 5

    /// The secrets sealed in the store, which ``rekey(to:)`` would re-encrypt.
    func sealedSecretCount() throws -> Int {
        try [("integrations", "client_secret"), ("connections", "access_token"), ("connections", "refresh_token")]
            .reduce(0) { total, place in
                let count = try database.query("SELECT COUNT(*) FROM \(place.0) WHERE \(place.1) IS NOT NULL") {
                    $0.int(0)
                }
                return total + (count.first ?? 0)
            }
    }

    private static func rotate(
        _ store: Store, current: SecretBox, environment: [String: String], audit: RekeyAudit
    ) throws -> RekeyOutcome {
        guard current.hasKey else {
            // Opened without a key, so nothing in it is sealed: there is nothing to re-encrypt, and no key to keep.
            throw StoreError(
                .badKey,
                "\(store.path) holds no secret yet and no key exists (\(SecretBox.keyVariable) is unset and there is "
                    + "no key file at \(SecretBox.keyFilePath(environment: environment))), so there is nothing to "
                    + "re-encrypt; the first import creates the key; nothing was changed", path: store.path)
        }
        if let text = environment[newKeyVariable], !text.isEmpty {
            var bytes = try SecretBox.decodeKey(text, origin: newKeyVariable, path: nil)
            defer { OPENSSL_cleanse(&bytes, bytes.count) }
            let count = try store.rekey(to: SecretBox(key: bytes, source: "TOKENTOP_NEW_KEY"), audit: audit)
            return RekeyOutcome(
                secrets: count, keyLocation: "TOKENTOP_NEW_KEY; set TOKENTOP_KEY to it from now on")
        }
        guard current.keySource != SecretBox.keyVariable else {
            throw StoreError(
                .badKey,
                "the key comes from \(SecretBox.keyVariable); set TOKENTOP_NEW_KEY to the new key (base64 of 32 "
                    + "random bytes, e.g. `openssl rand -base64 32`) and run rekey again; nothing was changed")
        }
        let keyPath = KeyFile.resolved(SecretBox.keyFilePath(environment: environment))
        return try KeyFile.whileRekeying(keyPath) { try rotateKeyFile(store, keyPath: keyPath, audit: audit) }
    }

    /// Seals `store` under a new key written beside the key file at `keyPath`, which then replaces the file.
    private static func rotateKeyFile(_ store: Store, keyPath: String, audit: RekeyAudit) throws -> RekeyOutcome {
        let staged = KeyFile.staged(keyPath)
        try KeyFile.keepStaged(of: keyPath)
        // Not KeyFile's own advice for a key it cannot create: a random TOKENTOP_KEY would open nothing here.
        try KeyFile.create(path: staged) { _, code in
            StoreError(
                .badKey,
                "rekey cannot write the new key beside the key file \(keyPath) (\(String(cString: strerror(code)))); "
                    + "make \(Paths.folder(of: keyPath)) writable, or give the new key in \(newKeyVariable) (base64 "
                    + "of 32 random bytes, e.g. `openssl rand -base64 32`); nothing was changed", path: keyPath)
        }
        guard var bytes = try KeyFile.read(path: staged) else {
            throw StoreError(.badKey, "the new key file \(staged) vanished; nothing was changed", path: staged)
        }
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        let count: Int
        do {
            count = try store.rekey(to: SecretBox(key: bytes, source: "key file \(keyPath)"), audit: audit)
        } catch {
            unlink(staged)
            throw error
        }
        // The key file is shared by every database that uses it: keep the old key, so that those still sealed
        // with it open (Store.open(path:environment:) tries it) instead of being lost.
        try KeyFile.retain(path: keyPath)
        guard rename(staged, keyPath) == 0 else {
            throw StoreError(
                .badKey,
                "the database now uses the key in \(staged), but it could not replace \(keyPath) "
                    + "(\(String(cString: strerror(errno)))); move \(staged) to \(keyPath) by hand", path: keyPath)
        }
        return RekeyOutcome(
            secrets: count,
            keyLocation: "key file \(keyPath) (the previous key is kept beside it for other databases that use it)")
    }

    /// Opens the database at `path` with the key from `environment` (TOKENTOP_KEY or the key file); when that key
    /// cannot open it and the key file is in use, with a key `rekey` of another database replaced (newest first).
    /// - Parameters:
    ///   - create: whether a missing database is created, or named as missing.
    ///   - createKey: whether a missing key file is created, for a store that holds no secret yet, by a command that
    ///     writes secrets (import, the dashboard, the daemon). With no key anywhere, a store that holds no sealed
    ///     value opens without one (or with the new key), and one that holds any is refused, naming where the key
    ///     was looked for, and no key file is created.
    ///   - createDirectory: whether a missing directory of a database that is created is created too (the default
    ///     location) or named as missing (a path the user gave).
    /// - Returns: the store, and a note for the user when an earlier key opened it.
    public static func open(
        path: String, environment: [String: String], create: Bool, createKey: Bool, createDirectory: Bool = true
    ) throws -> (store: Store, note: String?) {
        let current = try SecretBox.load(environment: environment, createKey: false)
        do {
            let store: Store
            do {
                store = try Store.open(
                    path: path, secrets: current, create: create, createDirectory: createDirectory)
            } catch let error as StoreError where error.code == .badKey && !current.hasKey {
                // No key file when this process looked, yet something sealed in the store: another process (several
                // `import`s into a new store at once) created the key file and sealed the first value in between.
                // Its key is read once more, never made up: a store sealed under a lost key stays refused.
                let again = try SecretBox.load(environment: environment, createKey: false)
                guard again.hasKey else { throw error }
                return (
                    try Store.open(path: path, secrets: again, create: create, createDirectory: createDirectory),
                    nil)
            }
            if !current.hasKey, createKey {
                // Only now that the store proved to hold no secret: a key made up for one that holds some could
                // open none of them, and would stay behind to confuse the next command.
                do {
                    try store.adopt(try SecretBox.load(environment: environment, createKey: true))
                } catch let error as StoreError {
                    // The new store goes when the disk refused it; the key file made just now stays (NewStoreFiles).
                    throw NewStoreFiles.leaving(store.newFiles, after: error)
                }
            }
            return (store, nil)
        } catch let error as StoreError
            where error.code == .cannotDecrypt && current.keySource != SecretBox.keyVariable
        {
            let link = SecretBox.keyFilePath(environment: environment)
            let keyPath = KeyFile.resolved(link)
            // The key file itself first: another process's rekey may have replaced it since this one read it. Then
            // the kept keys beside it, and beside a link to it (where a rekey before links were followed kept them).
            if var bytes = try? KeyFile.read(path: keyPath) {
                defer { OPENSSL_cleanse(&bytes, bytes.count) }
                if let store = try? Store.open(
                    path: path, secrets: SecretBox(key: bytes, source: "key file \(keyPath)"), create: false)
                {
                    return (store, nil)
                }
            }
            let besides = KeyFile.retained(besides: keyPath) + (link == keyPath ? [] : KeyFile.retained(besides: link))
            for retained in besides {
                guard var bytes = try? KeyFile.read(path: retained) else { continue }
                defer { OPENSSL_cleanse(&bytes, bytes.count) }
                guard let store = try? Store.open(
                    path: path, secrets: SecretBox(key: bytes, source: "key file \(retained)"), create: false)
                else { continue }
                let why =
                    retained == KeyFile.staged(keyPath)
                    ? "is sealed with the key in \(retained), which a rekey that stopped before its last step did not "
                        + "move to \(keyPath)"
                    : "is sealed with an earlier key, kept in \(retained) since rekey gave \(keyPath) a new one"
                let remedy = "run `tokentop rekey --db \(store.path)` to move it to a key of its own"
                return (store, "\(store.path) \(why); \(remedy)")
            }
            throw error
        }
    }
}
