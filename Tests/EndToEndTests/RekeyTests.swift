import Foundation
import Testing

/// `tokentop rekey`: every secret under a new key, the old key refused afterwards, nothing lost.
struct RekeyTests {
    @Test func rekeyWithTheKeyFileReplacesItAndKeepsEverySecret() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let keyPath = sandbox.root.appendingPathComponent("config/tokentop/key").path
        let before = try String(contentsOfFile: keyPath, encoding: .utf8)
        let fingerprints = try Binary.run(["list", "--json"], environment: env).stdout

        let rekey = try Binary.run(["rekey"], environment: env)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        #expect(rekey.stdout.contains("re-encrypted 4 secrets"), "\(rekey.stdout)")
        let after = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(before != after)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))

        // Everything still reads, with the same fingerprints; the old key no longer opens the database.
        #expect(try Binary.run(["list", "--json"], environment: env).stdout == fingerprints)
        var old = env
        old["TOKENTOP_KEY"] = before.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try Binary.run(["list"], environment: old)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("cannot decrypt") || refused.stderr.contains("key"), "\(refused.stderr)")
        let audit = try Binary.run(["audit"], environment: env).stdout
        #expect(audit.contains("rekey") && audit.contains("4 secrets re-encrypted"))
    }

    /// A store with nothing sealed has nothing to re-encrypt: the key file every other store shares stays.
    @Test func rekeyOfAStoreThatHoldsNoSecretChangesNothing() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let empty = sandbox.root.appendingPathComponent("empty.sqlite3").path
        #expect(try Binary.run(["migrate", "--db", empty], environment: env).status == 0)
        let folder = sandbox.root.appendingPathComponent("config/tokentop").path
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: folder + "/key"))
        let auditBefore = try Binary.run(["audit", "--db", empty], environment: env).stdout

        let rekey = try Binary.run(["rekey", "--db", empty], environment: env)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        #expect(
            rekey.stdout
                == "no secret sealed in \(empty); the key is unchanged, and still opens its key check and audit log: "
                + "keep it\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/key")) == keyBefore)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["key"])
        #expect(try Binary.run(["audit", "--db", empty], environment: env).stdout == auditBefore)
        let list = try Binary.run(["list"], environment: env)
        #expect(list.status == 0 && list.stderr.isEmpty, "\(list.stderr)")
    }

    @Test func rekeyOfOneDatabaseLosesNoOtherThatSharesTheKeyFile() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let first = sandbox.root.appendingPathComponent("a.sqlite3").path
        let second = sandbox.root.appendingPathComponent("b.sqlite3").path
        for database in [first, second] {
            #expect(try Binary.run(["import", file, "--db", database], environment: env).status == 0)
        }
        // Each database is compared with itself: import stamps the time a secret was set, and the two imports
        // may fall in different seconds.
        var listed: [String: String] = [:]
        for database in [first, second] {
            listed[database] = try Binary.run(["list", "--json", "--db", database], environment: env).stdout
        }
        #expect(try Binary.run(["rekey", "--db", second], environment: env).status == 0)
        let kept = try FileManager.default.contentsOfDirectory(
            atPath: sandbox.root.appendingPathComponent("config/tokentop").path
        ).filter { $0.hasPrefix("key.replaced-") }
        #expect(kept.count == 1, "\(kept)")

        // The first database still opens, with the key kept aside, and says how to move it to a key of its own.
        let list = try Binary.run(["list", "--json", "--db", first], environment: env)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout == listed[first])
        #expect(list.stderr.contains("is sealed with an earlier key, kept in"), "\(list.stderr)")
        let moved = try Binary.run(["rekey", "--db", first], environment: env)
        #expect(moved.status == 0, "\(moved.stderr)")
        // Now the second is the one on a kept key; both still read.
        for database in [first, second] {
            let again = try Binary.run(["list", "--json", "--db", database], environment: env)
            #expect(again.status == 0 && again.stdout == listed[database], "\(again.stderr)")
        }
        #expect(try Binary.run(["list", "--db", first], environment: env).stderr.isEmpty)
    }

    @Test func rekeyFromTheEnvironmentNeedsTheNewKeyThere() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        var env = sandbox.environment
        env["TOKENTOP_KEY"] = Data(repeating: 7, count: 32).base64EncodedString()
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)

        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("TOKENTOP_NEW_KEY"), "\(refused.stderr)")

        env["TOKENTOP_NEW_KEY"] = Data(repeating: 9, count: 32).base64EncodedString()
        #expect(try Binary.run(["rekey"], environment: env).status == 0)
        env["TOKENTOP_KEY"] = env["TOKENTOP_NEW_KEY"]
        env["TOKENTOP_NEW_KEY"] = ""
        let list = try Binary.run(["list"], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("acme-alice"))
    }
}

/// Rekey must not pull the key from under a running refresher.
struct RekeyWhileRunningTests {
    /// Imports `slow-1`, renewed at the server's `token` path and revoked at its `revocation` path.
    static func importSlow(
        _ server: HostileProviderTests.Server, _ sandbox: Sandbox, token: String, revocation: String? = nil
    ) throws {
        let revocationURL = revocation.map { "\"revocation_url\": \"\(server.url($0))\"," } ?? ""
        let file = try sandbox.write(
            "slow.json",
            """
            {"integrations": [{"id": "slow", "provider": "slow", "token_url": "\(server.url(token))", \(revocationURL)
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [{"id": "slow-1", "integration": "slow", "scope": "user", "subject": "u@example.com",
              "access_token": "fake-at-0", "refresh_token": "fake-rt-original", "expires_in": 3600}]}
            """)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
    }

    /// Waits up to 60 s until the server's answer to GET `path` is `ready`: a debug build under the whole suite's
    /// load may take many seconds to send its request. Whether it came.
    static func waitFor(
        _ server: HostileProviderTests.Server, _ path: String, _ ready: (String) -> Bool
    ) async throws -> Bool {
        let url = server.url(path)
        let deadline = Date().addingTimeInterval(60)
        while true {
            if ready((try? String(contentsOf: url, encoding: .utf8)) ?? "") { return true }
            // Looked at once more after the deadline: this task may be resumed only after it.
            guard Date() < deadline else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func rekeyRefusesWhileADaemonRuns() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let daemon = try Binary.startDaemon(environment: env)
        defer {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        try await Task.sleep(for: .seconds(2.5))
        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stop every dashboard and daemon"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"))
        // It names the daemon by host and process id, and when its entry would expire were it stale.
        #expect(refused.stderr.contains(":\(daemon.processIdentifier):"), "\(refused.stderr)")
        #expect(refused.stderr.contains("may be stale and expires within "), "\(refused.stderr)")
    }

    /// `tokentop refresh` counts as a refresher while it runs: a rekey meanwhile would leave it unable to store the
    /// refresh token its provider rotates. Once it has stored it, rekey goes ahead.
    @Test func rekeyRefusesWhileARefreshCommandWaitsForItsAnswer() async throws {
        let server = try await HostileProviderTests.Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        try Self.importSlow(server, sandbox, token: "/slow-rotate?held")
        let errors = sandbox.root.appendingPathComponent("refresh.err").path
        let refresh = try Binary.start(["refresh", "slow-1"], environment: env, stderr: errors)
        defer { refresh.kill() }
        // The provider rotates at once and answers only once released: rekey now, while the answer is on its way.
        let reached = try await Self.waitFor(server, "/issued") { $0 == "1" }
        try #require(reached, "the refresh never reached the server")
        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1, "rekey ran under the refresh: \(refused.stdout)")
        #expect(refused.stderr.contains(":\(refresh.process.processIdentifier):refresh-"), "\(refused.stderr)")
        #expect(refused.stderr.contains("let any refresh or revoke command end"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"), "\(refused.stderr)")

        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        #expect(await refresh.wait() == 0, "\((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        let rekey = try Binary.run(["rekey"], environment: env)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        let shown = try Binary.run(["show", "slow-1", "--json"], environment: env)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(object["failures"] as? Int == 0, "\(shown.stdout)")
        #expect(object["status"] as? String == "healthy", "\(shown.stdout)")
        #expect(object["last_refresh_at"] is String, "the rotated token was stored: \(shown.stdout)")
    }

    /// A revocation waiting for the provider's answer counts as a refresh does: rekey refuses, naming it, so that
    /// its history and audit entry are not written under a key the store no longer has (which broke the audit log).
    @Test func rekeyRefusesWhileARevocationWaitsForTheProvider() async throws {
        let server = try await HostileProviderTests.Server()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        try Self.importSlow(server, sandbox, token: "/token", revocation: "/revoke?held")
        let errors = sandbox.root.appendingPathComponent("revoke.err").path
        let revoke = try Binary.start(["revoke", "slow-1"], environment: env, stderr: errors)
        defer { revoke.kill() }
        // The provider records the token at once and answers only once released.
        let reached = try await Self.waitFor(server, "/revoked") { !$0.isEmpty }
        try #require(reached, "the revocation never reached the server")
        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1, "rekey ran under the revocation: \(refused.stdout)")
        #expect(refused.stderr.contains(":\(revoke.process.processIdentifier):revoke-"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"), "\(refused.stderr)")

        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        #expect(await revoke.wait() == 0, "\((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        #expect(try Binary.run(["rekey"], environment: env).status == 0)
        let verified = try Binary.run(["audit", "--verify"], environment: env)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("audit log intact"), "\(verified.stdout)")
    }

    /// A daemon killed with SIGKILL leaves its heartbeat behind, but its process id on this host is gone: rekey
    /// goes ahead at once instead of counting it for the heartbeat's window.
    @Test func rekeyRightAfterADaemonWasKilledGoesAhead() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let daemon = try Binary.startDaemon(environment: env)
        try await Task.sleep(for: .seconds(2.5))
        #expect(try Binary.run(["rekey"], environment: env).status == 1, "the daemon was not seen running")
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        let rekey = try Binary.run(["rekey"], environment: env)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        #expect(rekey.stdout.contains("re-encrypted"), "\(rekey.stdout)")
        #expect(try Binary.run(["show", "acme-alice"], environment: env).status == 0)
    }
}
