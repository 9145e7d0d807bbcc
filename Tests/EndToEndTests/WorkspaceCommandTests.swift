import Foundation
import Testing

/// `tokentop list --workspace NAME`: one workspace's connections, by their workspace or, in the workspace scope,
/// their subject; any credential kind.
@Suite struct WorkspaceCommandTests {
    static let file = """
        {"integrations": [
          {"id": "notion", "provider": "notion", "token_url": "https://api.notion.example/v1/oauth/token",
           "client_id": "fake-notion", "client_secret": "fake-client-secret-0001"}
        ],
        "connections": [
          {"id": "design-oauth", "integration": "notion", "scope": "workspace", "subject": "ws-1",
           "workspace": "Design", "members": ["ann@example.com"], "access_token": "fake-access-token-0001",
           "refresh_token": "fake-refresh-token-0001", "expires_in": 3600},
          {"id": "design-key", "integration": "notion", "scope": "org", "subject": "org:acme",
           "workspace": "Design", "credential": "api_key", "secret": "fake-api-key-0002"},
          {"id": "eng-basic", "integration": "notion", "scope": "workspace", "subject": "Engineering",
           "credential": "basic", "secret": "fake-user:fake-password-0003"},
          {"id": "alice", "integration": "notion", "scope": "user", "subject": "Design",
           "access_token": "fake-access-token-0004"}
        ]}
        """

    static func ids(_ arguments: [String], _ sandbox: Sandbox) throws -> [String] {
        let listed = try Binary.run(["list", "--json"] + arguments, environment: sandbox.environment)
        #expect(listed.status == 0, "\(listed.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return array.compactMap { $0["id"] as? String }
    }

    @Test func listFiltersByWorkspace() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let path = try sandbox.write("workspaces.json", Self.file)
        #expect(try Binary.run(["import", path], environment: sandbox.environment).status == 0)

        // The user-scope connection whose subject happens to be "Design" belongs to no workspace.
        #expect(try Self.ids(["--workspace", "Design"], sandbox) == ["design-key", "design-oauth"])
        #expect(try Self.ids(["--workspace=Engineering"], sandbox) == ["eng-basic"])
        #expect(try Self.ids(["--workspace", "Design", "--scope", "workspace"], sandbox) == ["design-oauth"])
        #expect(try Self.ids(["--workspace", "design"], sandbox).isEmpty, "names match exactly")

        let text = try Binary.run(["list", "--workspace", "Design"], environment: sandbox.environment)
        #expect(text.stdout.contains("design-oauth") && !text.stdout.contains("eng-basic"))
        let shown = try Binary.run(["show", "design-oauth"], environment: sandbox.environment)
        #expect(shown.stdout.contains("members"), "\(shown.stdout)")
        #expect(shown.stdout.contains("ann@example.com"))
    }

    @Test func workspaceNeedsAValueAndAppliesToListOnly() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let missing = try Binary.run(["list", "--workspace"], environment: sandbox.environment)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("--workspace needs a value"))
        // The next option is not taken for the value.
        let swallowed = try Binary.run(
            ["list", "--workspace", "--db", sandbox.database], environment: sandbox.environment)
        #expect(swallowed.status == 2)
        #expect(swallowed.stderr.contains("--workspace needs a value, not the option '--db'"), "\(swallowed.stderr)")
        // A monitor reads status's usage errors as UNKNOWN (3), not CRITICAL (2).
        let elsewhere = try Binary.run(["status", "--workspace", "Design"], environment: sandbox.environment)
        #expect(elsewhere.status == 3)
        #expect(elsewhere.stdout == "UNKNOWN: --workspace does not apply to 'status'\n", "\(elsewhere.stdout)")
        #expect(elsewhere.stderr.isEmpty)
        let other = try Binary.run(["show", "x", "--workspace", "Design"], environment: sandbox.environment)
        #expect(other.status == 2)
        #expect(other.stderr.contains("--workspace does not apply to 'show'"))
    }
}
