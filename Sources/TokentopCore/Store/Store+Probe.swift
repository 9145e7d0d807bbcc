import Foundation

extension Store {
    /// What became of a probe's result.
    struct ProbeRecord {
        /// The connection afterwards.
        var connection: Connection
        /// The history entry written, when the outcome differs from the last probe's; nil when it did not change.
        var entry: HistoryEntry?
    }

    /// Stores a probe's result in one transaction, with a history entry only when the outcome changed.
    ///
    /// The outcome is compared with the stored probe under the write lock, so two processes probing the same key
    /// write one entry per change between them. A rejected credential sets the re-auth reason; an accepted one
    /// clears it, since for a static credential only a probe sets one.
    /// - Parameters:
    ///   - fingerprint: the fingerprint of the secret that was probed; if the connection holds another secret by
    ///     now (imported again), or was revoked meanwhile, nothing is written and nil is returned.
    ///   - rejectedReason: why a human must act, when the provider refused the credential.
    func recordProbe(
        connectionID: String, verdict: ProbeVerdict, fingerprint: String?, rejectedReason: String?, at: Date
    ) throws -> ProbeRecord? {
        try locked {
            try database.transaction {
                guard var connection = try loadConnection(connectionID) else { throw unknownConnection(connectionID) }
                guard connection.revokedAt == nil, connection.accessFingerprint == fingerprint else { return nil }
                let previous = connection.probe
                let result = verdict.result(at: at)
                connection.probe = result
                var cleared = false
                switch verdict.outcome {
                case .ok:
                    cleared = connection.reauthReason != nil
                    connection.reauthReason = nil
                case .rejected:
                    connection.reauthReason = rejectedReason
                case .failed:
                    break
                }
                try updateFacts(connection)
                try markChanged(connectionID)
                let changed = previous.map { Self.outcomeKey($0) != Self.outcomeKey(result) } ?? true
                guard changed || cleared else { return ProbeRecord(connection: connection, entry: nil) }
                let entry = Self.historyEntry(
                    verdict, connectionID: connectionID, rejectedReason: rejectedReason, cleared: cleared, at: at)
                try insertHistory(entry, shown: true)
                return ProbeRecord(connection: connection, entry: entry)
            }
        }
    }

    /// What distinguishes one outcome from another: accepted or not, and the status or kind of failure, not the
    /// provider's wording (which may carry a request id that changes every time).
    static func outcomeKey(_ result: ProbeResult) -> String {
        "\(result.ok) " + (result.detail.split(separator: ":", maxSplits: 1).first.map(String.init) ?? "")
    }

    /// The history entry for a verdict; failures carry a provider error, so the event pane shows them as such.
    static func historyEntry(
        _ verdict: ProbeVerdict, connectionID: String, rejectedReason: String?, cleared: Bool, at: Date
    ) -> HistoryEntry {
        switch verdict.outcome {
        case .ok:
            let message = "probe ok: \(verdict.detail)" + (cleared ? "; the credential is accepted again" : "")
            return HistoryEntry(at: at, connectionID: connectionID, kind: .probeOK, message: message)
        case .rejected:
            let error = ProviderError(
                kind: .invalidGrant, error: "credential_rejected", errorDescription: verdict.detail,
                status: verdict.status)
            return HistoryEntry(
                at: at, connectionID: connectionID, kind: .needsReauth,
                message: "needs re-auth: \(rejectedReason ?? "the provider rejected the credential")", error: error)
        case .failed:
            let error = ProviderError(
                kind: .transient, error: "probe_failed", errorDescription: verdict.detail, status: verdict.status)
            return HistoryEntry(
                at: at, connectionID: connectionID, kind: .probeFailed, message: "probe failed: \(verdict.detail)",
                error: error)
        }
    }
}
