import Foundation
import Testing

@testable import TokentopCore

/// Who must act on a connection, and why: the words of `tokentop reauth` and of the dashboard's detail view.
@Suite struct ReauthPromptTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A renewable token of `scope` that still has an hour, whose last refresh failed with `error`.
    static func failing(_ scope: IdentityScope, grant: GrantKind, error: ProviderError?) -> Connection {
        Connection(
            id: "acme-\(scope.rawValue)", integrationID: "acme-app", scope: scope, subject: "subject-1",
            credential: .oauth2, grant: grant, accessFingerprint: "fake…0001",
            refreshFingerprint: grant == .refreshToken ? "fake…0002" : nil,
            issuedAt: now.addingTimeInterval(-600), expiresAt: now.addingTimeInterval(3000),
            failures: error == nil ? 0 : 3, lastError: error, createdAt: now.addingTimeInterval(-86_400))
    }

    static let invalidClient = ProviderError(
        kind: .configuration, error: "invalid_client", errorDescription: "client authentication failed", status: 401)

    /// invalid_client and kin: the provider refuses the integration, so the operator who runs it must fix it,
    /// whatever the scope; no re-auth of the user, admin or installer mends that.
    @Test(arguments: [
        (IdentityScope.user, GrantKind.refreshToken), (.org, .refreshToken), (.delegated, .jwtBearer),
        (.workspace, .refreshToken), (.bot, .clientCredentials),
    ])
    func aConfigurationErrorNamesTheIntegrationToFix(scope: IdentityScope, grant: GrantKind) {
        let connection = Self.failing(scope, grant: grant, error: Self.invalidClient)
        #expect(connection.status(at: Self.now, policy: .standard) == .failing)
        let prompt = Engine.reauthPrompt(for: connection, at: Self.now, policy: .standard)
        #expect(
            prompt.who
                == "an operator must fix integration acme-app (client id, secret, authentication method or token URL)")
        #expect(
            prompt.reason
                == "the provider refused the integration's configuration: invalid_client (HTTP 401): client "
                + "authentication failed; re-authorizing does not mend that, and once it is fixed the connection "
                + "renews itself")
    }

    /// A transient failure is the refresh actor's to retry; a healthy token needs nobody either.
    @Test(arguments: [ProviderError(kind: .transient, error: "server_error", status: 503), nil])
    func aTransientFailureOrNoneNeedsNobody(error: ProviderError?) {
        let connection = Self.failing(.user, grant: .refreshToken, error: error)
        let prompt = Engine.reauthPrompt(for: connection, at: Self.now, policy: .standard)
        #expect(prompt.who == "nobody needs to act now")
        #expect(prompt.reason.hasPrefix("the connection renews itself; should it break, the user subject-1"))
    }

    /// A refused grant stays the human's to restore, even when a configuration error came before it.
    @Test func aRefusedGrantStillNeedsItsHuman() {
        var connection = Self.failing(.user, grant: .refreshToken, error: Self.invalidClient)
        connection.reauthReason = "invalid_grant (HTTP 400): the refresh token was revoked"
        let prompt = Engine.reauthPrompt(for: connection, at: Self.now, policy: .standard)
        #expect(prompt.who == "the user subject-1 must sign in again")
        #expect(prompt.reason == "invalid_grant (HTTP 400): the refresh token was revoked")
    }
}
