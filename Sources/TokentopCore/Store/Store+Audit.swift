import Foundation

extension Store {
    /// Appends one operator action to the audit log and returns it with its hash.
    ///
    /// Token-like runs in `detail` are masked, except where they are exactly the target, the store's name, the key
    /// file's path, or one of `plain` (see ``AuditDetail``).
    /// - Parameter plain: more names the detail may quote that are known to be no secret, such as the temporary
    ///   file of an export to the target.
    @discardableResult
    /// - Parameter briefly: whether another process's lock is waited for 100 ms only (see ``waiting(briefly:_:)``).
    public func appendAudit(
        action: AuditEntry.Action, target: String?, outcome: String, detail: String, user: String, at: Date,
        plain: [String] = [], briefly: Bool = false
    ) throws -> AuditEntry {
        try locked {
            try waiting(briefly: briefly) {
                try database.transaction {
                    try insertAudit(
                        action: action, target: target, outcome: outcome, detail: detail, user: user, at: at,
                        plain: plain)
                }
            }
        }
    }

    /// Appends one entry after the newest and seals it as the anchor; the caller holds the lock and a transaction.
    @discardableResult
    func insertAudit(
        action: AuditEntry.Action, target: String?, outcome: String, detail: String, user: String, at: Date,
        plain: [String] = []
    ) throws -> AuditEntry {
        let last = try database.query("SELECT seq, hash, at FROM audit ORDER BY seq DESC LIMIT 1") {
            ($0.int(0), $0.string(1) ?? AuditEntry.genesis, $0.date(2))
        }.first
        // An action that waited for another process's lock is written after the actions that held it: its time is
        // never before theirs, so the log reads in order by time as by number.
        let at = max(at, last?.2 ?? at)
        // The target is stored in plain text beside the detail; the store's name has no password in it.
        let keyFile = KeyFile.resolved(SecretBox.keyFilePath())
        let names = [
            target, Store.displayName(path), SecretBox.keyFilePath(), keyFile, KeyFile.staged(keyFile),
            secrets.missingKeyFile,
        ]
        var entry = AuditEntry(
            sequence: (last?.0 ?? 0) + 1, at: at, user: user, action: action, target: target,
            outcome: outcome, detail: AuditDetail.masked(detail, keeping: names.compactMap { $0 } + plain),
            previousHash: last?.1 ?? AuditEntry.genesis, hash: "")
        entry.hash = entry.expectedHash
        try database.execute(
            """
            INSERT INTO audit (seq, at, os_user, action, target, outcome, detail, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                entry.sequence, entry.at, entry.user, entry.action.rawValue, entry.target, entry.outcome,
                entry.detail, entry.previousHash, entry.hash,
            ])
        try writeAuditAnchor(sequence: entry.sequence, hash: entry.hash)
        return entry
    }

    /// Runs `body` and records it in the audit log: `ok` with `detail` of what it returned, or `failed` with the
    /// error it threw, which is then thrown on.
    ///
    /// A failure because another process held the database's lock past the busy timeout is recorded only if the
    /// lock goes within a moment: its entry would meet the same lock, and waiting a second busy timeout for it
    /// doubled the wait before the user learned what was wrong.
    func audited<T>(
        _ action: AuditEntry.Action, target: String?, user: String, at: Date, plain: [String] = [],
        detail: (T) -> String, _ body: () throws -> T
    ) throws -> T {
        do {
            let value = try body()
            try appendAudit(
                action: action, target: target, outcome: "ok", detail: detail(value), user: user, at: at, plain: plain)
            return value
        } catch {
            _ = try? appendAudit(
                action: action, target: target, outcome: "failed", detail: "\(error)", user: user, at: at,
                plain: plain, briefly: (error as? StoreError)?.code == .busy)
            throw error
        }
    }

    /// The whole audit log, oldest first.
    public func auditLog() throws -> [AuditEntry] {
        try locked { try readAuditLog() }
    }

    /// The whole audit log, oldest first; the caller holds the lock.
    func readAuditLog() throws -> [AuditEntry] {
        try database.query(
            "SELECT seq, at, os_user, action, target, outcome, detail, previous_hash, hash FROM audit ORDER BY seq"
        ) { row in
            AuditEntry(
                sequence: row.int(0),
                at: try storedTime(
                    row, 1, table: "audit", named: "at", row: "\(row.int(0))",
                    remedy: "restore the audit log from an export") ?? .distantPast,
                user: row.string(2) ?? "",
                action: AuditEntry.Action(rawValue: row.string(3) ?? "") ?? .refresh, target: row.string(4),
                outcome: row.string(5) ?? "", detail: row.string(6) ?? "", previousHash: row.string(7) ?? "",
                hash: row.string(8) ?? "")
        }
    }

    /// Seals the newest entry's number and hash, so that removing entries from the end, or rewriting the whole
    /// chain, shows: the anchor can only be written with the key.
    ///
    /// A process whose key a `rekey` elsewhere replaced writes nothing: an anchor sealed with the old key would fail
    /// every later `audit --verify` as altered.
    func writeAuditAnchor(sequence: Int, hash: String) throws {
        try checkKeyUnchanged()
        let sealed = try secrets.seal(Secret("\(sequence):\(hash)"), context: Self.auditAnchorContext)
        try database.execute(
            "INSERT INTO meta (name, value) VALUES ('audit_anchor', ?) "
                + "ON CONFLICT(name) DO UPDATE SET value = excluded.value", [sealed])
    }

    static let auditAnchorContext = "meta/audit_anchor"

    /// Checks the hash chain: every entry links to the one before it and carries the hash of its own fields, and
    /// the newest entry matches the sealed anchor.
    public func verifyAudit() throws -> AuditVerification {
        try locked { try checkAudit() }
    }

    /// ``verifyAudit()`` for a caller that holds the lock, perhaps inside a transaction.
    func checkAudit() throws -> AuditVerification {
        let entries = try readAuditLog()
        let sealedAnchor =
            try database.query("SELECT value FROM meta WHERE name = 'audit_anchor'") { $0.blob(0) }.first ?? nil
        var previous = AuditEntry.genesis
        for (index, entry) in entries.enumerated() {
            if entry.sequence != index + 1 {
                return AuditVerification(
                    entries: entries.count, firstBroken: index + 1,
                    problem: "entry \(index + 1) is missing (the next one is numbered \(entry.sequence))")
            }
            if entry.previousHash != previous {
                return AuditVerification(
                    entries: entries.count, firstBroken: entry.sequence,
                    problem: "entry \(entry.sequence) does not link to the entry before it")
            }
            if entry.hash != entry.expectedHash {
                return AuditVerification(
                    entries: entries.count, firstBroken: entry.sequence,
                    problem: "entry \(entry.sequence) was changed after it was written")
            }
            previous = entry.hash
        }
        if let broken = try checkAnchor(sealedAnchor, entries: entries) { return broken }
        return AuditVerification(entries: entries.count, firstBroken: nil, problem: nil)
    }

    private func checkAnchor(_ sealed: [UInt8]?, entries: [AuditEntry]) throws -> AuditVerification? {
        func broken(_ at: Int, _ problem: String) -> AuditVerification {
            AuditVerification(entries: entries.count, firstBroken: at, problem: problem)
        }
        guard let sealed else {
            guard entries.isEmpty else { return broken(1, "the log's sealed anchor is missing") }
            // A new store is anchored with its key check; without an anchor, only one that never held anything is.
            guard try !holdsNoRows() else { return nil }
            return broken(
                1,
                "the log's anchor is missing, yet the store holds (or held) connections, integrations or history: "
                    + "the log may have been removed")
        }
        let anchor: String
        do {
            anchor = try unseal(sealed, context: Self.auditAnchorContext).value
        } catch {
            return broken(1, "the log's sealed anchor was altered")
        }
        let parts = anchor.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let sequence = Int(parts[0]) else { return broken(1, "the log's anchor is unreadable") }
        let last = entries.last
        if (last?.sequence ?? 0) < sequence {
            let first = (last?.sequence ?? 0) + 1
            let which = first == sequence ? "entry \(sequence) was" : "entries \(first) to \(sequence) were"
            return broken(first, "\(which) removed from the end of the log")
        }
        // An empty log's anchor is entry 0, the chain's start.
        if (last?.sequence ?? 0) != sequence || (last?.hash ?? AuditEntry.genesis) != parts[1] {
            return broken(sequence, "the log was rewritten: its newest entry does not match the sealed anchor")
        }
        return nil
    }
}
