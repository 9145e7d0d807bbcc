import Foundation
import Testing
import TokentopCore

/// `tokentop revoke` against a provider that answers only part of a revocation, a store it may not write, and an
/// integration without a revocation endpoint: what it says, where, its exit status, and what it stores.
@Suite(.serialized)
struct RevokeCommandTests {
    /// A revocation endpoint that answers HTTP 500 to the token types its first argument lists (comma-separated)
    /// and 200 to the others; `GET /count` says how many revocations arrived.
    static let partialRevocation = #"""
        import http.server, sys, urllib.parse
        failing = set(sys.argv[1].split(','))
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def answer(self, status, body):
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers.get('Content-Length', 0))).decode())
                self.server.revoked += 1
                if form.get('token_type_hint', [''])[0] in failing:
                    return self.answer(500, b'{"error":"server_error"}')
                self.answer(200, b'{}')
            def do_GET(self):
                self.answer(200, str(self.server.revoked).encode())
        """# + "\n" + CurlTransportTests.serving.replacingOccurrences(
        of: "print(server.server_port", with: "server.revoked = 0\nprint(server.server_port")

    /// The command line tests' import file, with acme's revocation endpoint at `server`'s `path`.
    static func importFile(revokingAt server: HostileProviderTests.Server, path: String = "/revoke") -> String {
        CommandLineTests.importFile.replacingOccurrences(
            of: #""token_url": "http://127.0.0.1:9/token","#,
            with: #""token_url": "http://127.0.0.1:9/token", "revocation_url": "\#(server.url(path))","#)
    }

    static func show(_ id: String, _ sandbox: Sandbox) throws -> [String: Any] {
        let run = try Binary.run(["show", id, "--json"], environment: sandbox.environment)
        try #require(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any])
    }

    @Test func aRevokedRefreshTokenRevokesTheConnectionThoughTheAccessTokensRevocationFailed() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server(script: Self.partialRevocation, arguments: ["access_token"])
        let file = try sandbox.write("import.json", Self.importFile(revokingAt: server))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        let run = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        let message =
            "refresh token revoked at the provider, and the connection here; revoking the access token failed: "
            + "server_error (HTTP 500); it should end with its grant (RFC 7009 §2.1), but if the provider keeps it, "
            + "it stays valid until \(CommandLineTests.farFuture)"
        #expect(run.stderr == "tokentop: acme-alice: \(message)\n", "\(run.stderr)")
        #expect(try String(contentsOf: server.url("/count"), encoding: .utf8) == "2")

        let shown = try Self.show("acme-alice", sandbox)
        #expect(shown["status"] as? String == "revoked")
        #expect(shown["revoked_at_provider"] as? Bool == true)
        let error = try #require(shown["last_error"] as? [String: Any])
        #expect(error["error"] as? String == "server_error")
        #expect(error["status"] as? Int == 500)
        let history = try #require(shown["history"] as? [[String: Any]])
        #expect(history.last?["kind"] as? String == "revoked")
        #expect(history.last?["message"] as? String == message)
    }

    @Test func aRefusedRevocationChangesNothingAndShowsInTheHistory() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server(
            script: Self.partialRevocation, arguments: ["refresh_token,access_token"])
        let file = try sandbox.write("import.json", Self.importFile(revokingAt: server))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        let run = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: revoking acme-alice failed at the provider, nothing was changed: server_error "
                + "(HTTP 500)\n", "\(run.stderr)")
        #expect(try String(contentsOf: server.url("/count"), encoding: .utf8) == "1")
        let shown = try Self.show("acme-alice", sandbox)
        #expect(shown["status"] as? String == "healthy")
        #expect(shown["revoked_at"] is NSNull)
        #expect(shown["failures"] as? Int == 0)
        #expect((shown["last_error"] as? [String: Any])?["error"] as? String == "server_error")
        let history = try #require(shown["history"] as? [[String: Any]])
        #expect(history.last?["kind"] as? String == "revocation_failed")
        #expect(
            history.last?["message"] as? String
                == "revocation failed at the provider, nothing was changed: server_error (HTTP 500)")
    }

    /// Ctrl-C while the provider holds its answer to the revocation: the command stops waiting at once, says that
    /// the request may have reached the provider and what to do, records that in the history and the audit log,
    /// leaves the connection as it was (not marked revoked: nobody knows) and gives its lease back.
    @Test func ctrlCWhileTheProviderHoldsItsAnswerRecordsThatTheRevocationMayHaveReachedIt() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server()
        let file = try sandbox.write("import.json", Self.importFile(revokingAt: server, path: "/revoke?held"))
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        let revoke = try LiveProcess(["revoke", "acme-alice"], environment: sandbox.environment)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? String(contentsOf: server.url("/revoked"), encoding: .utf8)) ?? "" == "" {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try String(contentsOf: server.url("/revoked"), encoding: .utf8) == "fake-refresh-token-0001")
        revoke.interrupt()
        // The provider still holds its answer: the command must not wait for it.
        let status = try await revoke.finish(timeout: 10)
        _ = try String(contentsOf: server.url("/release"), encoding: .utf8)
        #expect(status == 130, "\(revoke.stderr)")
        #expect(revoke.stdout.isEmpty, "\(revoke.stdout)")
        let again =
            "run `tokentop revoke acme-alice` again to finish it (the provider answers a revoked token's "
            + "revocation as done)"
        #expect(
            revoke.stderr == "tokentop: acme-alice: revocation interrupted: the request was sent and may have reached "
                + "the provider, which may have revoked its tokens; it is not marked revoked here; \(again)\n",
            "\(revoke.stderr)")

        let shown = try Self.show("acme-alice", sandbox)
        #expect(shown["revoked_at"] is NSNull)
        #expect((shown["last_error"] as? [String: Any])?["error"] as? String == "revocation_interrupted")
        let history = try #require(shown["history"] as? [[String: Any]])
        #expect(history.last?["kind"] as? String == "revocation_failed")
        #expect(
            history.last?["message"] as? String
                == "revocation interrupted: the request may have reached the provider; not marked revoked here; "
                + again)
        let audit = try Binary.run(["audit", "--json"], environment: sandbox.environment)
        let entries = try #require(try JSONSerialization.jsonObject(with: audit.output) as? [[String: Any]])
        let last = try #require(entries.last)
        #expect(last["action"] as? String == "revoke")
        #expect(last["target"] as? String == "acme-alice")
        #expect(last["outcome"] as? String == "interrupted")

        // No lease is left held: the next revocation goes out at once, and the provider answers it.
        let run = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty, "\(run.stderr)")
        #expect(run.stdout == "acme-alice: revoked at the provider and here\n")
    }

    /// A store file this user may not write, in a directory it may (so SQLite opens the file read-only without a
    /// word and even takes its write lock): nothing is sent to the provider, since the store could not record it.
    @Test func aStoreFileTheUserMayNotWriteSendsNothingToTheProvider() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server(script: Self.partialRevocation, arguments: [""])
        let (key, closed, database) = try DatabaseFaultTests.storeInClosedDirectory(
            sandbox, importing: Self.importFile(revokingAt: server))
        let binary = try Unprivileged.copyOfBinary(into: sandbox.root)
        let nobody = try #require(getpwnam("nobody")).pointee
        // The tester's case: a copy of the store that nobody owns with mode 0400, in a directory open to all.
        #expect(chown(database, nobody.pw_uid, nobody.pw_gid) == 0)
        for (path, mode) in [(sandbox.root.path, 0o755), (closed.path, 0o1777), (database, 0o400)] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
        let before = try DatabaseFaultTests.bytes(database)
        let environment = ["TOKENTOP_KEY": key, "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"]
        let run = try Unprivileged.run([binary, "revoke", "acme-alice", "--db", database], environment: environment)
        #expect(run.status == 1)
        #expect(
            run.stderr == "tokentop: acme-alice was not revoked: database problem: cannot write the database "
                + "\(database): this user may not write it (permission denied); make the file writable for this user "
                + "(chmod u+w, or run as its owner), or choose another file with --db; nothing was sent to the "
                + "provider\n", "\(run.stderr)")
        #expect(try String(contentsOf: server.url("/count"), encoding: .utf8) == "0")
        #expect(try DatabaseFaultTests.bytes(database) == before)
    }

    /// Without a revocation endpoint the connection is revoked here, exit 0, and stderr says that the provider was
    /// not told and until when the tokens stay valid there.
    @Test func aRevocationWithoutAnEndpointWarnsThatTheTokenStillWorksAtTheProvider() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let run = try Binary.run(["revoke", "acme-alice", "acme-key"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout == "acme-alice: revoked here only, not at the provider\n"
                + "acme-key: revoked here only, not at the provider\n", "\(run.stdout)")
        #expect(
            run.stderr == "tokentop: acme-alice: warning: the provider was not told: integration acme has no "
                + "revocation endpoint, so the access token stays valid at the provider until "
                + "\(CommandLineTests.farFuture), and the refresh token until the provider ends it; revoke it at the "
                + "provider to end it sooner\n"
                + "tokentop: acme-key: warning: the provider was not told: integration acme has no revocation "
                + "endpoint, so the key stays valid at the provider until someone revokes it there; revoke it at the "
                + "provider to end it sooner\n", "\(run.stderr)")
        #expect(try Self.show("acme-alice", sandbox)["revoked_at_provider"] as? Bool == false)
    }
}
