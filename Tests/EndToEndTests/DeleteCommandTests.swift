import Foundation
import Testing

/// `tokentop delete`: refusals that delete nothing, deletions that `list` and the audit log show, and a running
/// daemon that drops a connection deleted under it.
struct DeleteCommandTests {
    /// The command line's file plus a spare integration that no connection uses and a token-exchange child of
    /// acme-alice.
    static let importFile = CommandLineTests.importFile
        .replacingOccurrences(
            of: #""client_id": "fake-client", "client_secret": "fake-client-secret-0001"}"#,
            with: #""client_id": "fake-client", "client_secret": "fake-client-secret-0001"},"#
                + #"{"id": "spare", "provider": "spare", "token_url": "http://127.0.0.1:9/token", "#
                + #""client_id": "fake-spare-client", "client_auth": "none"}"#
        )
        .replacingOccurrences(
            of: #""credential": "api_key", "access_token": "fake-api-key-0001"}"#,
            with: #""credential": "api_key", "access_token": "fake-api-key-0001"},"#
                + #"{"id": "acme-alice-graph", "integration": "acme", "scope": "delegated", "#
                + #""subject": "alice@example.com", "grant": "token_exchange", "parent": "acme-alice"}"#)

    private func ids(_ sandbox: Sandbox) throws -> [String] {
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        return array.compactMap { $0["id"] as? String }.sorted()
    }

    private func auditDeletes(_ sandbox: Sandbox) throws -> [[String: Any]] {
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        return array.filter { $0["action"] as? String == "delete" }
    }

    @Test func refusesLiveParentAndUnknownConnectionsThenDeletesRevokedAndForcedOnes() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let all = ["acme-alice", "acme-alice-graph", "acme-key"]
        #expect(try ids(sandbox) == all)

        // A live token, a parent without its child, and a typo: each named, nothing deleted.
        let refused = try Binary.run(["delete", "acme-key", "acme-alice", "typo"], environment: sandbox.environment)
        #expect(refused.status == 1)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("no connection named typo in \(sandbox.database)"), "\(refused.stderr)")
        #expect(
            refused.stderr.contains(
                "acme-key is not revoked and holds a live token: revoke it first with `tokentop revoke acme-key`, "
                    + "or --force to delete it without telling the provider"))
        #expect(
            refused.stderr.contains(
                "acme-alice-graph derives its tokens from acme-alice: name it too to delete it with acme-alice"))
        #expect(refused.stderr.hasSuffix("nothing was deleted\n"))
        #expect(refused.stderr.split(separator: "\n").count == 1)
        #expect(try ids(sandbox) == all)
        #expect(try auditDeletes(sandbox).isEmpty)

        // Revoked first (the integration has no revocation endpoint: here only), it goes without --force.
        let revoked = try Binary.run(["revoke", "acme-key"], environment: sandbox.environment)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let deleted = try Binary.run(["delete", "acme-key"], environment: sandbox.environment)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout == "acme-key: deleted, with 2 history entries\n")
        #expect(try ids(sandbox) == ["acme-alice", "acme-alice-graph"])
        let gone = try Binary.run(["show", "acme-key"], environment: sandbox.environment)
        #expect(gone.status == 1)
        #expect(gone.stderr.contains("no connection named acme-key"))

        // The parent with its child, forced: both live tokens stay valid at the provider, and the output says so.
        let forced = try Binary.run(
            ["delete", "--force", "acme-alice", "acme-alice-graph"], environment: sandbox.environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(
            forced.stdout.split(separator: "\n") == [
                "acme-alice: deleted, with 1 history entry; forced: it was not revoked, and its token stays valid at "
                    + "the provider until it expires",
                "acme-alice-graph: deleted, with 1 history entry",
            ])
        #expect(try ids(sandbox).isEmpty)

        let entries = try auditDeletes(sandbox)
        #expect(entries.compactMap { $0["target"] as? String } == ["acme-key", "acme-alice", "acme-alice-graph"])
        #expect(entries.allSatisfy { $0["outcome"] as? String == "ok" })
        let details = entries.compactMap { $0["detail"] as? String }
        #expect(details.count == 3)
        #expect(details[0] == "connection acme-key deleted (not forced); 2 history entries deleted with it")
        #expect(details[1].hasPrefix("connection acme-alice deleted (forced with --force: it was not revoked"))
        // acme-alice-graph holds no token of its own yet: nothing to force.
        #expect(details[2].hasPrefix("connection acme-alice-graph deleted (not forced)"))
        let verify = try Binary.run(["audit", "--verify"], environment: sandbox.environment)
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    /// Revoked, deleted, and the same file imported again: its revoked tokens are refused as they were while the
    /// connection was there, with the same message, and nothing is imported; a store restored from an export of
    /// it refuses them too; new tokens bring the connection back.
    @Test func aDeletedConnectionsRevokedTokensAreNotImportedAgain() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        #expect(try Binary.run(["revoke", "acme-alice"], environment: env).status == 0)
        let whileThere = try Binary.run(["import", file], environment: env)
        #expect(whileThere.status == 1)
        #expect(
            whileThere.stderr.hasPrefix(
                "tokentop: \(file): connections[0] (id \"acme-alice\"): refresh_token: was this connection's refresh "
                    + "token before it was revoked here at "), "\(whileThere.stderr)")
        let deleted = try Binary.run(["delete", "acme-alice"], environment: env)
        #expect(deleted.status == 0, "\(deleted.stderr)")

        let again = try Binary.run(["import", file], environment: env)
        #expect(again.status == 1)
        #expect(again.stderr == whileThere.stderr)
        #expect(try ids(sandbox) == ["acme-key"])
        // The access token alone, beside a new refresh token, is refused too.
        let access = try sandbox.write(
            "access.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: "fake-refresh-token-0001", with: "fake-refresh-token-0002"))
        let accessRefused = try Binary.run(["import", access], environment: env)
        #expect(accessRefused.status == 1)
        #expect(
            accessRefused.stderr.contains(
                "connections[0] (id \"acme-alice\"): access_token: was this connection's access token before it was "
                    + "revoked here at "), "\(accessRefused.stderr)")

        // An export carries what was revoked to the store it is restored into.
        let export = sandbox.root.appendingPathComponent("store.json").path
        let exported = try Binary.run(["export", export], environment: env)
        #expect(exported.status == 0, "\(exported.stderr)")
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        let restored = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(restored.status == 0, "\(restored.stderr)")
        let intoRestored = try Binary.run(["import", file, "--db", target], environment: env)
        #expect(intoRestored.status == 1)
        #expect(intoRestored.stderr == whileThere.stderr)

        let fresh = try sandbox.write(
            "fresh.json",
            CommandLineTests.importFile.replacingOccurrences(of: "token-0001", with: "token-0003"))
        let back = try Binary.run(["import", fresh], environment: env)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try ids(sandbox) == ["acme-alice", "acme-key"])
        let shown = try Binary.run(["show", "acme-alice", "--json"], environment: env)
        #expect(shown.stdout.contains("\"status\":\"healthy\""), "\(shown.stdout)")
    }

    /// A connection whose refresh token the provider refused (invalid_grant), deleted, and the same file imported
    /// again: the refused token is refused as it was while the connection was there.
    @Test func aDeletedConnectionsRefusedRefreshTokenIsNotImportedAgain() async throws {
        let server = try await TokenAnswerShapeTests.server(
            status: 400, type: "application/json", body: #"{"error": "invalid_grant"}"#)
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        // The access token expired long ago: once the refresh token is refused, nothing live is left to delete.
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile
                .replacingOccurrences(of: "http://127.0.0.1:9/token", with: "http://127.0.0.1:\(server.port)/token")
                .replacingOccurrences(of: CommandLineTests.farFuture, with: "2020-01-01T00:00:00Z"))
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let refreshed = try Binary.run(["refresh", "acme-alice"], environment: env)
        #expect(refreshed.status != 0)
        let whileThere = try Binary.run(["import", file], environment: env)
        #expect(whileThere.status == 1)
        let refusal =
            "tokentop: \(file): connections[0] (id \"acme-alice\"): refresh_token: is the refresh token the provider "
            + "refused (this connection "
        #expect(whileThere.stderr.hasPrefix(refusal + "needs re-auth: "), "\(whileThere.stderr)")
        let deleted = try Binary.run(["delete", "acme-alice"], environment: env)
        #expect(deleted.status == 0, "\(deleted.stderr)")

        let again = try Binary.run(["import", file], environment: env)
        #expect(again.status == 1)
        #expect(
            again.stderr
                == whileThere.stderr.replacingOccurrences(
                    of: "this connection needs re-auth", with: "this connection needed re-auth when it was deleted"))
        #expect(try ids(sandbox) == ["acme-key"])
    }

    @Test func deletesAnIntegrationOnlyOnceNoConnectionUsesIt() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", Self.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let used = try Binary.run(["delete", "--integration", "acme", "spare"], environment: sandbox.environment)
        #expect(used.status == 1)
        #expect(
            used.stderr.contains(
                "integration acme is used by 3 connections (acme-alice, acme-alice-graph, acme-key); delete them "
                    + "first"),
            "\(used.stderr)")
        let spare = try Binary.run(["delete", "--integration", "spare"], environment: sandbox.environment)
        #expect(spare.status == 0, "\(spare.stderr)")
        #expect(spare.stdout == "integration spare: deleted\n")
        let again = try Binary.run(["delete", "--integration", "spare"], environment: sandbox.environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("no integration named spare"))
        #expect(try auditDeletes(sandbox).compactMap { $0["target"] as? String } == ["spare"])
    }

    @Test(arguments: [
        (["delete"], "'delete' needs at least one connection id"),
        (["delete", "--integration"], "'delete' needs at least one integration id"),
        (["delete", "--integration", "--force", "acme"], "--force does not apply to 'delete --integration'"),
        (["delete", "acme-key", "--json"], "--json does not apply to 'delete'"),
        (["delete", ""], "'delete' was given an empty connection id"),
        (["delete", "--force=yes", "acme-key"], "--force takes no value"),
    ])
    func badDeleteCommandLinesExitTwo(arguments: [String], message: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(arguments, environment: sandbox.environment)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }

    /// A daemon retrying acme-alice's refresh (its token endpoint is a closed port) while an operator deletes it:
    /// it keeps running, logs the deletion once, stops refreshing the connection, and never writes it back.
    @Test func aRunningDaemonDropsAConnectionDeletedUnderIt() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let log = sandbox.root.appendingPathComponent("daemon.log").path
        let daemon = try Binary.start(["daemon", "--log", log], environment: sandbox.environment)
        defer { daemon.kill() }
        try await DaemonOperationsTests.waitFor(20, "a failed refresh of acme-alice") {
            DaemonOperationsTests.read(log).contains("\"msg\":\"refresh_failed\"")
        }

        let deleted = try Binary.run(["delete", "--force", "acme-alice"], environment: sandbox.environment)
        #expect(deleted.status == 0, "\(deleted.stderr)")
        try await DaemonOperationsTests.waitFor(10, "the daemon's line about the deletion") {
            DaemonOperationsTests.read(log).contains("\"msg\":\"deleted\"")
        }
        // Long enough for the retries it had scheduled (backoff from 1 s) to come due.
        try await Task.sleep(for: .seconds(6))
        #expect(daemon.process.isRunning)
        #expect(try ids(sandbox) == ["acme-key"])

        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        let lines = DaemonOperationsTests.read(log).split(separator: "\n").map(String.init)
        let deletion = try #require(lines.firstIndex { $0.contains("\"msg\":\"deleted\"") })
        #expect(lines[deletion].contains("\"connection.id\":\"acme-alice\""), "\(lines[deletion])")
        #expect(lines[deletion].contains("\"by\":\"another process\""), "\(lines[deletion])")
        #expect(lines.filter { $0.contains("\"msg\":\"deleted\"") }.count == 1)
        let after = lines[(deletion + 1)...]
        #expect(!after.contains { $0.contains("acme-alice") }, "\(after.joined(separator: "\n"))")
        #expect(!after.contains { $0.contains("store_unavailable") || $0.contains("database problem") })
        #expect(lines.last?.contains("\"msg\":\"daemon stopped\"") == true)
        #expect(try ids(sandbox) == ["acme-key"])
    }
}
