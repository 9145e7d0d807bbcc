import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A provider that answers every request with HTTP 200 and counts what it was sent.
private final class CountingProvider: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `paths` is only touched under `lock`.
    private let lock = NSLock()
    private var paths: [String] = []

    var sent: [String] { lock.withLock { paths } }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        lock.withLock { paths.append(request.url.path) }
        return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: Data("{}".utf8))
    }
}

/// A PostgreSQL role that may read the store but not write it: what it may do, and what it must refuse before it
/// reaches a provider.
@Suite(.enabled(if: PostgresServer.isAvailable, "no PostgreSQL server (scripts/postgres start)"))
struct PostgresReadOnlyRoleTests {
    let clock = TestClock()

    /// A role of its own in the cluster, with SELECT on the store's tables and `grants` besides; its URL.
    private static func readerURL(of url: String, role: String, grants: String) throws -> String {
        try PostgresServer.psql(
            url,
            """
            CREATE ROLE \(role) LOGIN PASSWORD 'fake-reader-password';
            GRANT SELECT ON ALL TABLES IN SCHEMA public TO \(role);
            \(grants.replacingOccurrences(of: "ROLE", with: role))
            """)
        var components = try #require(URLComponents(string: url))
        components.user = role
        components.password = "fake-reader-password"
        return try #require(components.string)
    }

    /// Revoking cannot be taken back at the provider: a role that may not write what the revocation's record writes
    /// is refused before anything is sent, and the message says so, rather than revoking there and failing to
    /// record it here. The second role may update the connection but not add to its history.
    @Test(arguments: [("", "connections"), ("GRANT UPDATE ON connections TO ROLE", "history")])
    func aRoleThatMayNotWriteSendsNothingToTheProviderOnRevoke(grants: String, table: String) async throws {
        let directory = try StoreTemporaryDirectory(.postgres)
        _ = try StoreFixtures.store(in: directory)
        let url = try directory.location("tokentop")
        let role = "tt_reader_" + UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8)
        let reader = try Self.readerURL(of: url, role: role, grants: grants)
        // The role belongs to the cluster, not to the test's database: it is dropped before the database is.
        defer {
            withExtendedLifetime(directory) {
                _ = try? PostgresServer.psql(url, "DROP OWNED BY \(role); DROP ROLE \(role)")
            }
        }

        let store = try Store.open(path: reader, secrets: SecretBox(key: StoreFixtures.key), create: false)
        let provider = CountingProvider()
        let engine = try Engine(store: store, transport: provider, timeSource: clock, policy: .standard)
        let error = try await #require(throws: EngineError.self) { try await engine.revokeNow("acme-alice") }
        #expect(error.code == .storage)
        #expect(error.message.hasPrefix("acme-alice was not revoked: database problem: cannot write"), "\(error)")
        #expect(error.message.contains("permission denied for table \(table)"), "\(error)")
        #expect(error.message.hasSuffix("; nothing was sent to the provider"), "\(error)")
        #expect(provider.sent.isEmpty, "sent \(provider.sent)")
        let kept = try PostgresServer.psql(url, "SELECT revoked_at IS NULL FROM connections WHERE id = 'acme-alice'")
        #expect(kept == "t", "the connection is not revoked here either")
    }
}
