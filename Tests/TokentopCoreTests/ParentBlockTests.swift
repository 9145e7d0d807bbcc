import Foundation
import Testing

@testable import TokentopCore

/// A derived connection's status follows its parent's: a broken parent shows on every child, with the reason.
@Suite struct ParentBlockTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func parent(_ change: (inout Connection) -> Void = { _ in }) -> Connection {
        var parent = Connection(
            id: "acme-admin", integrationID: "acme", scope: .delegated, subject: "admin@acme.example",
            credential: .oauth2, grant: .refreshToken, accessFingerprint: "fake…1234",
            refreshFingerprint: "fake…5678",
            issuedAt: now.addingTimeInterval(-600), expiresAt: now.addingTimeInterval(3000),
            createdAt: now.addingTimeInterval(-86_400))
        change(&parent)
        return parent
    }

    static func child(
        _ id: String = "obo-bob", grant: GrantKind = .onBehalfOf, expiresIn: Double = 3000
    ) -> Connection {
        Connection(
            id: id, integrationID: "entra", scope: .delegated, subject: "\(id)@acme.example", credential: .oauth2,
            grant: grant, accessFingerprint: "fake…9999", issuedAt: now.addingTimeInterval(-600),
            expiresAt: now.addingTimeInterval(expiresIn), createdAt: now.addingTimeInterval(-86_400),
            parentID: "acme-admin")
    }

    static let refused = ProviderError(
        kind: .invalidGrant, error: "invalid_grant", errorDescription: "AADSTS50173: the grant has expired",
        status: 400)

    static func snapshot(_ connections: [Connection]) -> DashboardSnapshot {
        DashboardSnapshot(databasePath: "test", connections: connections)
    }

    /// A parent's trouble, and what a fresh child and a due child show for it.
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let change: @Sendable (inout Connection) -> Void
        let fresh: ConnectionStatus
        let due: ConnectionStatus
        let reason: String?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "healthy", change: { _ in }, fresh: .healthy, due: .expiring, reason: nil),
        Case(
            name: "needs re-auth",
            change: {
                $0.failures = 1
                $0.lastError = refused
                $0.reauthReason = "the provider refused the grant: \(refused.summary)"
            }, fresh: .needsReauth, due: .needsReauth,
            reason: "parent acme-admin needs re-auth: invalid_grant (HTTP 400): AADSTS50173: the grant has expired"),
        Case(
            name: "revoked", change: { $0.revokedAt = now }, fresh: .needsReauth, due: .needsReauth,
            reason: "blocked: parent acme-admin was revoked here; re-authorize it, then this renews again"),
        Case(
            name: "expired",
            change: {
                $0.grant = .none
                $0.refreshFingerprint = nil
                $0.expiresAt = now.addingTimeInterval(-1)
            }, fresh: .needsReauth, due: .needsReauth,
            reason: "parent acme-admin expired and nothing can renew it; re-authorize it"),
        Case(
            name: "past its expiry, but its refresh token renews it first (expiring, not expired)",
            change: { $0.expiresAt = now.addingTimeInterval(-1) }, fresh: .healthy, due: .expiring, reason: nil),
        Case(
            name: "past its expiry while its refresh fails (failing, not expired)",
            change: {
                $0.expiresAt = now.addingTimeInterval(-1)
                $0.failures = 2
                $0.lastError = ProviderError(kind: .transient, error: "server_error", status: 503)
                $0.retryAt = now.addingTimeInterval(30)
            }, fresh: .healthy, due: .failing,
            reason: "parent acme-admin is failing: server_error (HTTP 503); this waits for it"),
        Case(
            name: "failing",
            change: {
                $0.failures = 2
                $0.lastError = ProviderError(kind: .transient, error: "server_error", status: 503)
                $0.retryAt = now.addingTimeInterval(30)
            }, fresh: .healthy, due: .failing,
            reason: "parent acme-admin is failing: server_error (HTTP 503); this waits for it"),
    ]

    @Test(arguments: cases)
    func everyChildShowsWhyItsParentBroke(_ item: Case) {
        let parent = Self.parent(item.change)
        let fresh = Self.child("obo-fresh")
        let due = Self.child("obo-due", expiresIn: 20)
        let snapshot = Self.snapshot([parent, fresh, due])
        #expect(snapshot.status(of: fresh, at: Self.now) == item.fresh)
        #expect(snapshot.status(of: due, at: Self.now) == item.due)
        #expect(snapshot.parentBlock(of: fresh, at: Self.now)?.reason == item.reason)
        #expect(snapshot.parentBlock(of: due, at: Self.now)?.parentID == (item.reason == nil ? nil : "acme-admin"))
    }

    /// A derived token past its own expiry can still be minted again: it is due (`expiring`), or `failing` while
    /// its parent fails, and overdue either way; never `expired`, which is for what nothing can renew.
    @Test func aChildPastItsOwnExpiryIsDueAndOverdueNotExpired() {
        let failing = Self.parent {
            $0.failures = 2
            $0.lastError = ProviderError(kind: .transient, error: "server_error", status: 503)
        }
        for (parent, expected) in [(Self.parent(), ConnectionStatus.expiring), (failing, .failing)] {
            let child = Self.child("obo-dead", expiresIn: -1)
            let status = Self.snapshot([parent, child]).status(of: child, at: Self.now)
            #expect(status == expected)
            #expect(child.isOverdue(at: Self.now, status: status))
        }
    }

    @Test func theChildsOwnFactsComeFirst() {
        let parent = Self.parent { $0.revokedAt = Self.now }
        var revoked = Self.child("obo-revoked")
        revoked.revokedAt = Self.now
        var refused = Self.child("obo-refused")
        refused.reauthReason = "consent withdrawn"
        let snapshot = DashboardSnapshot(
            databasePath: "test", connections: [parent, revoked, refused], inFlight: ["obo-refused"])
        #expect(snapshot.status(of: revoked, at: Self.now) == .revoked)
        #expect(snapshot.status(of: refused, at: Self.now) == .needsReauth)
    }

    @Test func aMissingParentBlocksItsChild() {
        let child = Self.child()
        let snapshot = Self.snapshot([child])
        #expect(snapshot.status(of: child, at: Self.now) == .needsReauth)
        #expect(snapshot.parentBlock(of: child, at: Self.now)?.reason.contains("missing from the database") == true)
    }

    @Test(arguments: [GrantKind.jwtBearer, .refreshToken])
    func aParentOnlyGroupsConnectionsThatDoNotDeriveFromIt(_ grant: GrantKind) {
        // A JWT bearer token is minted with the integration's key, not the parent's token: the parent is context.
        let parent = Self.parent { $0.revokedAt = Self.now }
        var child = Self.child(grant: grant)
        child.refreshFingerprint = "fake…4444"
        let snapshot = Self.snapshot([parent, child])
        #expect(snapshot.status(of: child, at: Self.now) == .healthy)
        #expect(snapshot.parentBlock(of: child, at: Self.now) == nil)
        #expect(snapshot.children(of: "acme-admin") == ["obo-bob"])
    }

    @Test func countsAndTheMonitoringLineIncludeBlockedChildren() {
        let parent = Self.parent {
            $0.failures = 1
            $0.reauthReason = "refused"
        }
        let snapshot = Self.snapshot([parent, Self.child("a"), Self.child("b")])
        #expect(snapshot.counts(at: Self.now) == [.needsReauth: 3])
        #expect(StatusSummary(snapshot, at: Self.now).exitCode == 2)
    }

    @Test func workspaceNamesFallBackToTheSubjectInTheWorkspaceScope() {
        var shared = Self.child()
        shared.workspace = "Sales"
        var bare = Self.child()
        bare.scope = .workspace
        bare.subject = "ws:design"
        var user = Self.child()
        user.scope = .user
        #expect(shared.workspaceName == "Sales")
        #expect(bare.workspaceName == "ws:design")
        #expect(user.workspaceName == nil)
    }
}
