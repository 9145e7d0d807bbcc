import Foundation

extension Engine {
    /// Checks a static credential against its integration's probe URL now; `refreshNow` does this for every
    /// credential that does not expire.
    ///
    /// The operator's request and its outcome go to the audit log. The connection afterwards carries the result in
    /// ``Connection/probe``; a rejected credential also has a ``Connection/reauthReason``.
    /// - Throws: ``EngineError`` when the connection is unknown, revoked, or has nothing a probe can check.
    public func probeNow(_ id: String) async throws -> Connection {
        do {
            let connection = try await prober.probeNow(id)
            let probe = connection.probe
            let outcome = probe?.ok == true ? "ok" : "failed"
            audit(.refresh, id, outcome, "probe \(probe.map { "\($0.ok ? "ok" : "failed"): \($0.detail)" } ?? "")")
            return connection
        } catch {
            audit(.refresh, id, "failed", "\(error)")
            throw error
        }
    }
}
