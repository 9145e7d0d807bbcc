import Foundation
import Testing

@testable import TokentopCore

/// The sandbox provider, whose revocation endpoint answers HTTP 500 to the token types in `failing`; it keeps the
/// `token_type_hint` of every revocation in the order they arrive.
private final class FailingRevocation: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `sent` is only touched under `lock`; the rest never changes.
    let inner: SandboxProvider
    let failing: Set<String>
    private let lock = NSLock()
    private var sent: [String] = []

    init(inner: SandboxProvider, failing: Set<String>) {
        self.inner = inner
        self.failing = failing
    }

    var hints: [String] { lock.withLock { sent } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        guard request.url.path.hasSuffix("/revoke") else { return try await inner.send(request) }
        let body = String(decoding: request.body, as: UTF8.self)
        let hint = ["refresh_token", "access_token"].first { body.contains("token_type_hint=\($0)") } ?? "none"
        lock.withLock { sent.append(hint) }
        guard failing.contains(hint) else { return try await inner.send(request) }
        return HTTPResponse(status: 500, body: Data(#"{"error":"server_error"}"#.utf8))
    }
}

/// How a revocation the provider answers only in part is told and stored.
struct RevokeOutcomeTests {
    let base = EngineTests()

    private func engine(failing: Set<String>) throws -> (Engine, FailingRevocation) {
        let (store, sandbox) = try base.makeStore(connections: [base.userConnection("alice")])
        let transport = FailingRevocation(inner: sandbox, failing: failing)
        return (try Engine(store: store, transport: transport, timeSource: base.clock, policy: .standard), transport)
    }

    /// RFC 7009 §2.1: revoking the refresh token ends the grant and its access tokens, so the connection is revoked
    /// even though the access token's own revocation failed; the words say what went through and what did not.
    @Test func aRevokedRefreshTokenRevokesTheConnectionWhenTheAccessTokensRevocationFails() async throws {
        let (engine, transport) = try engine(failing: ["access_token"])
        let expiry = try #require(engine.connection("alice")?.expiresAt)
        let error = try await #require(throws: EngineError.self) { try await engine.revokeNow("alice") }
        let message =
            "refresh token revoked at the provider, and the connection here; revoking the access token failed: "
            + "server_error (HTTP 500); it should end with its grant (RFC 7009 §2.1), but if the provider keeps it, "
            + "it stays valid until \(RFC3339.string(from: expiry))"
        #expect(error.code == .revocationIncomplete)
        #expect(error.message == "alice: " + message)
        #expect(!error.message.contains("nothing was changed"))
        #expect(transport.hints == ["refresh_token", "access_token"], "the refresh token first")

        let stored = try #require(try engine.store.connection(id: "alice"))
        #expect(stored.revokedAt == base.clock.now())
        #expect(stored.revokedAtProvider)
        #expect(stored.status(at: base.clock.now(), policy: .standard) == .revoked)
        #expect(stored.lastError?.error == "server_error")
        #expect(stored.lastError?.status == 500)
        let tokens = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(tokens.access == nil && tokens.refresh == nil, "the dead refresh token is not kept")
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).last)
        #expect(entry.kind == .revoked)
        #expect(entry.message == message)
        #expect(entry.error?.status == 500)
        #expect(engine.snapshot().events.last?.message == message)
        let audit = try #require(try engine.store.auditLog().last)
        #expect(audit.action == .revoke && audit.outcome == "partial")
        #expect(audit.detail.contains("refresh token revoked at the provider"), "\(audit.detail)")
        // Revoked is revoked: a second revoke says so rather than reaching for the provider again.
        let again = try await #require(throws: EngineError.self) { try await engine.revokeNow("alice") }
        #expect(again.code == .alreadyRevoked)
        #expect(transport.hints.count == 2)
    }

    /// A refused refresh-token revocation revokes nothing; it stays in the connection's history and as its last
    /// error, as a failed refresh does, and the tokens and the status stay as they were.
    @Test func aRefusedRevocationChangesNothingAndIsKeptInTheHistory() async throws {
        let (engine, transport) = try engine(failing: ["refresh_token"])
        let error = try await #require(throws: EngineError.self) { try await engine.revokeNow("alice") }
        #expect(error.code == .revocationFailed)
        #expect(error.message == "revoking alice failed at the provider, nothing was changed: server_error (HTTP 500)")
        #expect(transport.hints == ["refresh_token"], "nothing more is sent once the first is refused")

        let stored = try #require(try engine.store.connection(id: "alice"))
        #expect(stored.revokedAt == nil)
        #expect(stored.status(at: base.clock.now(), policy: .standard) == .healthy)
        #expect(stored.failures == 0, "the count of failed refreshes")
        #expect(stored.lastError?.error == "server_error")
        #expect(stored.lastError?.status == 500)
        let tokens = try engine.store.tokenSecrets(connectionID: "alice")
        #expect(tokens.refresh?.value == "fake-rt-0001" && tokens.access?.value == "fake-at-0001")
        let entry = try #require(try engine.store.history(connectionID: "alice", limit: 1).last)
        #expect(entry.kind == .revocationFailed)
        #expect(entry.message == "revocation failed at the provider, nothing was changed: server_error (HTTP 500)")
        #expect(entry.error?.status == 500)
        #expect(try engine.store.auditLog().last?.outcome == "failed")
    }

    /// The dashboard's `x` shows the failure once: the event the actor recorded, not a second one beside it.
    @Test func theDashboardShowsARefusedRevocationOnce() async throws {
        let (engine, _) = try engine(failing: ["refresh_token"])
        engine.revoke(["alice"])
        await engine.drainAudit()
        let events = engine.snapshot().events.filter { $0.connectionID == "alice" && $0.kind != .imported }
        #expect(events.map(\.kind) == [.revocationFailed])
        #expect(
            events.first?.message == "revocation failed at the provider, nothing was changed: server_error (HTTP 500)")
        #expect(events.first?.error?.status == 500)
    }
}
