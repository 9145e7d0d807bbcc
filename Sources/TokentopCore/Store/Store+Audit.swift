import Foundation

extension Store {
    /// Appends one operator action to the audit log and returns it with its hash.
    @discardableResult
    public func appendAudit(
        action: AuditEntry.Action, target: String?, outcome: String, detail: String, user: String, at: Date
    ) throws -> AuditEntry {
        try locked {
            try database.transaction {
                let last = try database.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1") {
                    ($0.int(0), $0.string(1) ?? AuditEntry.genesis)
                }.first
                var entry = AuditEntry(
                    sequence: (last?.0 ?? 0) + 1, at: at, user: user, action: action, target: target,
                    outcome: outcome, detail: SecretMasking.mask(detail), previousHash: last?.1 ?? AuditEntry.genesis,
                    hash: "")
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
                return entry
            }
        }
    }

    /// The whole audit log, oldest first.
    public func auditLog() throws -> [AuditEntry] {
        try locked {
            try database.query(
                "SELECT seq, at, os_user, action, target, outcome, detail, previous_hash, hash FROM audit ORDER BY seq"
            ) { row in
                AuditEntry(
                    sequence: row.int(0), at: row.date(1) ?? .distantPast, user: row.string(2) ?? "",
                    action: AuditEntry.Action(rawValue: row.string(3) ?? "") ?? .refresh, target: row.string(4),
                    outcome: row.string(5) ?? "", detail: row.string(6) ?? "", previousHash: row.string(7) ?? "",
                    hash: row.string(8) ?? "")
            }
        }
    }

    /// Checks the hash chain: every entry links to the one before it and carries the hash of its own fields.
    public func verifyAudit() throws -> AuditVerification {
        let entries = try auditLog()
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
        return AuditVerification(entries: entries.count, firstBroken: nil, problem: nil)
    }
}
