import Foundation
import Testing
import TokentopCore

/// `tokentop import` run again on the same file, through the real binary: what it keeps and what it says.
struct ReimportCommandTests {
    /// A provider that rotates the refresh token on every refresh, and the same file imported again after one:
    /// the rotated token stays (the file's is dead at such a provider), the summary says so, exit 0.
    @Test func theSameFileAfterARotatedRefreshKeepsTheRotatedTokenAndSaysSo() async throws {
        let server = try await TokenAnswerShapeTests.server(
            status: 200, type: "application/json",
            body: #"{"access_token": "fake-access-token-0002", "refresh_token": "fake-refresh-token-0002", "#
                + #""token_type": "Bearer", "expires_in": 3600}"#)
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write(
            "team.json",
            """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:\(server.port)/t",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [{"integration": "acme", "scope": "user", "subject": "alice@example.com",
              "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001",
              "expires_in": 3600}]}
            """)
        let env = sandbox.environment
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let refreshed = try Binary.run(["refresh", "acme-alice-example-com"], environment: env)
        #expect(refreshed.status == 0, "\(refreshed.stdout) \(refreshed.stderr)")

        let again = try Binary.run(["import", file], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let shown = try Binary.run(["show", "acme-alice-example-com", "--json"], environment: env)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let renewed = try #require(object["last_refresh_at"] as? String)
        #expect(
            again.stdout == "imported \(file) into \(sandbox.database): integrations: 0 added, 1 updated; "
                + "connections: 0 added, 1 updated; acme-alice-example-com: kept the refresh token tokentop rotated "
                + "since the last import (last renewed at \(renewed)); the file's is older\n")
        #expect(object["refresh_fingerprint"] as? String == Secret("fake-refresh-token-0002").fingerprint)
        #expect(object["access_fingerprint"] as? String == Secret("fake-access-token-0002").fingerprint)
        #expect(object["status"] as? String == "healthy")
    }
}
