import Foundation

/// The shapes of `tokentop audit`: an aligned text log, or a stable JSON array.
public enum AuditReport {
    /// One line per entry: sequence, time, user, action, target, outcome, detail.
    public static func text(_ entries: [AuditEntry]) -> String {
        guard !entries.isEmpty else { return "no operator actions recorded yet" }
        return entries.map { entry in
            [
                String(entry.sequence), RFC3339.string(from: entry.at), entry.user, entry.action.rawValue,
                entry.target ?? "-", entry.outcome, entry.detail,
            ].joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Every entry with its hash and the hash it links to, keys sorted.
    public static func json(_ entries: [AuditEntry]) -> String {
        let array: [[String: Any]] = entries.map { entry in
            [
                "seq": entry.sequence, "at": RFC3339.string(from: entry.at), "user": entry.user,
                "action": entry.action.rawValue, "target": entry.target ?? NSNull(), "outcome": entry.outcome,
                "detail": entry.detail, "previous_hash": entry.previousHash, "hash": entry.hash,
            ]
        }
        let data =
            (try? JSONSerialization.data(withJSONObject: array, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// `audit --verify --json`: one object, keys sorted: `intact`, `entries` (how many were checked), and where the
    /// chain breaks, `first_broken` (the entry's sequence number) and `problem`, both null for an intact chain.
    public static func json(_ verification: AuditVerification) -> String {
        let object: [String: Any] = [
            "intact": verification.problem == nil, "entries": verification.entries,
            "first_broken": verification.firstBroken ?? NSNull(), "problem": verification.problem ?? NSNull(),
        ]
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
