import Foundation

/// One operator action in the audit log: who did what to which connection, and how it ended.
///
/// Entries form a hash chain: each `hash` covers the entry's fields and the previous entry's hash, so an entry
/// changed or removed afterwards breaks every hash after it.
public struct AuditEntry: Sendable, Equatable {
    /// The operator actions that are audited.
    public enum Action: String, Sendable, CaseIterable {
        case refresh, revoke, reauth, `import`, rekey, export, delete
    }

    /// Position in the log, from 1.
    public var sequence: Int
    public var at: Date
    /// The operating-system user who ran tokentop.
    public var user: String
    public var action: Action
    /// The connection acted on, or the file imported; nil for whole-store actions.
    public var target: String?
    /// `ok`, `failed`, `partial` (a revocation that ended the grant but not its access token), or `prompted` (a
    /// re-auth that a human must carry out).
    public var outcome: String
    /// One line; never a secret.
    public var detail: String
    public var previousHash: String
    public var hash: String

    /// The hash the entry should carry, computed from its fields and `previousHash`.
    public var expectedHash: String {
        let fields = [
            String(sequence), String(format: "%.6f", at.timeIntervalSince1970), user, action.rawValue, target ?? "",
            outcome, detail, previousHash,
        ]
        // Length-prefixed, so that no two different field lists hash the same text.
        let text = fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
        return SHA256Digest.hex(of: Data(text.utf8))
    }

    /// The hash that stands before the first entry.
    public static let genesis = String(repeating: "0", count: 64)
}

/// What ``Store/verifyAudit()`` found.
public struct AuditVerification: Sendable, Equatable {
    /// How many entries were checked.
    public var entries: Int
    /// The first entry whose hash or link does not match, when the chain is broken.
    public var firstBroken: Int?
    /// Why the chain is broken at `firstBroken`.
    public var problem: String?

    public var isIntact: Bool { firstBroken == nil }
}
