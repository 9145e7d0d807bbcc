import Foundation
import Testing

/// Proves the django-oauth-toolkit fixture behaves as the end-to-end tests assume:
/// rotation, replay refusal, revocation and introspection. Each test starts its own token
/// family, so the tests can run in parallel against the one server.
///
/// Token values reach `#expect` only as local `Bool`s or `Int`s: a failing `#expect` prints the
/// operands and call arguments of its expression, and those must never be tokens.
@Suite("OAuth server fixture")
struct OAuthServerTests {
    @Test(
        "password grant returns an access and a refresh token",
        arguments: [OAuthServerFixture.ClientAuthentication.basic, .post])
    func passwordGrantReturnsTokens(authentication: OAuthServerFixture.ClientAuthentication) async throws {
        let server = try await OAuthServerFixture.shared()
        let client = authentication == .basic ? server.basicClient : server.postClient

        let tokens = try await server.passwordGrant(client: client)

        let accessIssued = !tokens.access.isEmpty
        let refreshIssued = !tokens.refresh.isEmpty
        let distinct = tokens.access != tokens.refresh
        #expect(accessIssued)
        #expect(refreshIssued)
        #expect(distinct)
        let expiresIn = tokens.expiresIn
        #expect(expiresIn > 0)
        #expect(expiresIn <= server.accessTokenSeconds)
        let active = try await server.introspect(token: tokens.access)
        #expect(active)
    }

    @Test("refresh_token grant with basic auth rotates the refresh token")
    func refreshRotates() async throws {
        let server = try await OAuthServerFixture.shared()
        let first = try await server.passwordGrant(client: server.basicClient)

        let reply = try await server.refreshGrant(refreshToken: first.refresh, client: server.basicClient)

        #expect(reply.status == 200)
        let second = try #require(reply.tokens)
        let newRefresh = try #require(second.refreshToken)
        let refreshRotated = newRefresh != first.refresh
        let accessRenewed = second.accessToken != first.access
        #expect(refreshRotated)
        #expect(accessRenewed)
        #expect(second.tokenType == "Bearer")
        let active = try await server.introspect(token: second.accessToken)
        #expect(active)
    }

    @Test("replaying a rotated refresh token is invalid_grant and revokes its family")
    func replayIsRefused() async throws {
        let server = try await OAuthServerFixture.shared()
        let first = try await server.passwordGrant(client: server.basicClient)
        let rotated = try await server.refreshGrant(refreshToken: first.refresh, client: server.basicClient)
        let current = try #require(rotated.tokens?.refreshToken)

        let replay = try await server.refreshGrant(refreshToken: first.refresh, client: server.basicClient)

        #expect(replay.status == 400)
        #expect(replay.error == "invalid_grant")
        // REFRESH_TOKEN_REUSE_PROTECTION: the replay also kills the token that replaced it.
        let afterReplay = try await server.refreshGrant(refreshToken: current, client: server.basicClient)
        #expect(afterReplay.status == 400)
        #expect(afterReplay.error == "invalid_grant")
    }

    @Test("a revoked access token introspects as inactive")
    func revokedAccessTokenIsInactive() async throws {
        let server = try await OAuthServerFixture.shared()
        let tokens = try await server.passwordGrant(client: server.postClient)
        let activeBefore = try await server.introspect(token: tokens.access)
        #expect(activeBefore)

        let status = try await server.revoke(token: tokens.access, hint: "access_token", client: server.postClient)

        #expect(status == 200)
        let activeAfter = try await server.introspect(token: tokens.access)
        #expect(activeAfter == false)
    }

    @Test("revoking the refresh token ends its access token and the refresh grant")
    func revokedRefreshTokenEndsTheGrant() async throws {
        let server = try await OAuthServerFixture.shared()
        let tokens = try await server.passwordGrant(client: server.basicClient)

        let status = try await server.revoke(token: tokens.refresh, hint: "refresh_token", client: server.basicClient)

        #expect(status == 200)
        let accessActive = try await server.introspect(token: tokens.access)
        #expect(accessActive == false)
        let reply = try await server.refreshGrant(refreshToken: tokens.refresh, client: server.basicClient)
        #expect(reply.status == 400)
        #expect(reply.error == "invalid_grant")
    }

    @Test("a wrong client secret is invalid_client")
    func wrongSecretIsInvalidClient() async throws {
        let server = try await OAuthServerFixture.shared()
        let impostor = OAuthServerFixture.Client(
            id: server.basicClient.id, secret: "fake-wrong-secret-0000", authentication: .basic)

        let reply = try await server.token(
            ["grant_type": "password", "username": server.username, "password": server.password], client: impostor)

        #expect(reply.status == 401)
        #expect(reply.error == "invalid_client")
    }
}
