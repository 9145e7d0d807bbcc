import Foundation
import Testing
import TokentopCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `tokentop reauth` against django-oauth-toolkit: the fixture user signs in through the browser flow
/// (authorization code with PKCE, redirected to tokentop's loopback listener) or approves a device code, and
/// every way that can go wrong leaves a message and nothing half-stored.
///
/// Each test has its own database; its connection starts refused by the server (a fake refresh token answers
/// invalid_grant), so it needs re-auth. Token values never reach an `#expect`.
@Suite("Re-auth against django-oauth-toolkit")
struct ReauthInteropTests {
    static let key = [UInt8](repeating: 0x37, count: 32)

    struct Setup {
        let server: SignInServer
        let sandbox: Sandbox
        let environment: [String: String]

        func run(_ arguments: [String]) throws -> Binary.Run {
            try Binary.run(arguments, environment: environment)
        }

        func show(_ id: String) throws -> [String: Any] {
            let run = try run(["show", id, "--json"])
            return try #require(try JSONSerialization.jsonObject(with: run.output) as? [String: Any])
        }

        func lastHistory(_ id: String) throws -> [String: Any] {
            try #require((try show(id)["history"] as? [[String: Any]])?.last)
        }

        func reauth(_ id: String, _ extra: [String] = []) throws -> LiveProcess {
            try LiveProcess(["reauth", id, "--no-browser"] + extra, environment: environment)
        }

        func store() throws -> Store { try Store.open(path: sandbox.database, secrets: SecretBox(key: key)) }
    }

    /// A database with `connections`, each already refused by the server, so each needs re-auth (or, with a wrong
    /// client secret, fails).
    func setup(
        _ connections: [(id: String, integration: String)], userClientSecret: String? = nil,
        redirectURI: String? = nil
    ) async throws -> Setup {
        let server = try await SignInServer.shared()
        let sandbox = try Sandbox()
        var environment = sandbox.environment
        environment["TOKENTOP_KEY"] = Data(Self.key).base64EncodedString()
        environment["TOKENTOP_DB"] = sandbox.database
        let setup = Setup(server: server, sandbox: sandbox, environment: environment)
        let file = try server.importFile(
            sandbox: sandbox, userClientSecret: userClientSecret, redirectURI: redirectURI, connections: connections)
        let imported = try setup.run(["import", file])
        #expect(imported.status == 0, "\(imported.stderr)")
        for connection in connections {
            _ = try setup.run(["refresh", connection.id])
            // With a wrong client secret the refresh fails as a configuration error instead.
            let expected = userClientSecret == nil ? "needs-reauth" : "failing"
            #expect(try setup.show(connection.id)["status"] as? String == expected)
        }
        return setup
    }

    /// The sign-in URL `tokentop reauth` printed.
    func signInURL(_ process: LiveProcess) async throws -> String {
        let output = try await process.waitForOutput { $0.contains("Waiting up to") }
        let line = output.split(separator: "\n").first { $0.hasPrefix("  http") }
        return try #require(
            line.map { $0.trimmingCharacters(in: .whitespaces) }, "no URL in: \(output)\(process.stderr)")
    }

    /// The user code `tokentop reauth` printed for the device flow.
    func userCode(_ process: LiveProcess) async throws -> String {
        let output = try await process.waitForOutput { $0.contains("Waiting for") }
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let index = try #require(lines.firstIndex { $0.hasSuffix("and enter the code:") }, "\(output)")
        return lines[index + 2].trimmingCharacters(in: .whitespaces)
    }

    // MARK: - Browser: authorization code with PKCE

    @Test func aUserSignsInThroughTheBrowserAndTheNewTokensWork() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let before = try setup.show("alice")
        let process = try setup.reauth("alice")
        let url = try await signInURL(process)
        #expect(url.hasPrefix(setup.server.authorizeURL.absoluteString + "?response_type=code&client_id=tokentop-user"))
        #expect(url.contains("code_challenge_method=S256"))
        #expect(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"))
        #expect(!url.contains("code_verifier") && !url.contains("client_secret"))

        let page = try setup.server.consent(to: url)
        #expect(page["status"] as? Int == 200)
        #expect(page["title"] as? String == "tokentop: Signed in")
        #expect(try await process.finish() == 0, "\(process.stderr)")
        #expect(
            process.stdout.contains("alice: re-authorized; expires in 1h00m; scopes: read write; refresh token stored"))

        let after = try setup.show("alice")
        #expect(after["status"] as? String == "healthy")
        #expect(after["reauth_reason"] is NSNull)
        #expect(after["failures"] as? Int == 0)
        #expect(after["access_fingerprint"] as? String != before["access_fingerprint"] as? String)
        #expect(try setup.lastHistory("alice")["kind"] as? String == "reauthorized")
        // The stored tokens are the server's: its introspection calls the access token active, and the refresh
        // token renews (and rotates) at once.
        let tokens = try setup.store().tokenSecrets(connectionID: "alice")
        let active = try await setup.server.server.introspect(token: try #require(tokens.access).value)
        #expect(active)
        let refreshed = try setup.run(["refresh", "alice"])
        #expect(refreshed.status == 0, "\(refreshed.stdout)\(refreshed.stderr)")
        let audit = try setup.run(["audit", "--json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: audit.output) as? [[String: Any]])
        let reauths = entries.filter { $0["action"] as? String == "reauth" }.map { $0["outcome"] as? String }
        #expect(reauths == ["started", "ok"])
    }

    @Test func aDeniedConsentIsAClearFailureAndChangesNothing() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let before = try setup.show("alice")
        let process = try setup.reauth("alice")
        let page = try setup.server.consent(to: try await signInURL(process), deny: true)
        #expect(page["title"] as? String == "tokentop: Sign-in not completed")
        #expect(try await process.finish() == 1)
        #expect(
            process.stderr.contains("tokentop: alice: re-auth failed: the user declined the consent (access_denied"))
        try expectUnchanged(setup, before: before)
    }

    /// A redirect with a forged state gets a 400 page and does not end the sign-in: the real redirect that follows
    /// signs the user in with the server's code, which the forged request carried too and which was not spent.
    @Test func aRedirectWithAForgedStateIsIgnoredAndTheRealOneSignsIn() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let process = try setup.reauth("alice")
        let redirect = try setup.server.consent(to: try await signInURL(process), follow: false)
        let location = try #require(redirect["location"] as? String)
        var components = try #require(URLComponents(string: location))
        components.queryItems = components.queryItems?.map {
            $0.name == "state" ? URLQueryItem(name: "state", value: "fake-forged-state-0001") : $0
        }
        let session = URLSession(configuration: .ephemeral)
        let (body, response) = try await session.data(from: try #require(components.url))
        #expect((response as? HTTPURLResponse)?.statusCode == 400)
        let page = String(decoding: body, as: UTF8.self)
        #expect(page.contains("This sign-in link is not the one tokentop is waiting for"))
        #expect(!page.contains("fake-forged-state-0001"))
        let (_, real) = try await session.data(from: try #require(URL(string: location)))
        #expect((real as? HTTPURLResponse)?.statusCode == 200)
        #expect(try await process.finish() == 0, "\(process.stderr)")
        #expect(process.stdout.contains("alice: re-authorized; expires in"))
        #expect(try setup.show("alice")["status"] as? String == "healthy")
    }

    /// The client secret went wrong after the last refresh: the sign-in starts, and its code exchange's refusal is
    /// named.
    @Test func aTokenEndpointThatRefusesTheClientIsNamed() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let file = try setup.server.importFile(
            sandbox: setup.sandbox, userClientSecret: "fake-wrong-secret-0000", connections: [])
        let imported = try setup.run(["import", file])
        #expect(imported.status == 0, "\(imported.stderr)")
        let process = try setup.reauth("alice")
        _ = try setup.server.consent(to: try await signInURL(process))
        #expect(try await process.finish() == 1)
        #expect(process.stderr.contains("re-auth failed: the token endpoint refused (invalid_client (HTTP 401)"))
        #expect(process.stderr.contains("check integration dot-user's client id, secret and authentication method"))
        #expect(!process.stderr.contains("fake-wrong-secret-0000"))
    }

    /// While the last refresh was refused for the client itself, no sign-in starts: the user would go through it
    /// only to see the same refusal at its end. The operator is told what to fix, and how to go on.
    @Test func noSignInStartsWhileTheTokenEndpointRefusesTheClient() async throws {
        let setup = try await setup([("alice", "dot-user")], userClientSecret: "fake-wrong-secret-0000")
        defer { setup.sandbox.remove() }
        let run = try setup.run(["reauth", "alice", "--no-browser"])
        #expect(run.status == 1)
        #expect(
            run.stdout.hasPrefix(
                "alice: an operator must fix integration dot-user (client id, secret, authentication method or "
                    + "token URL)\nwhy: the provider refused the integration's configuration: invalid_client (HTTP "
                    + "401)"), "\(run.stdout)")
        #expect(!run.stdout.contains("http"), "no sign-in URL: \(run.stdout)")
        #expect(
            run.stderr.hasPrefix(
                "tokentop: alice: not re-authorized here: the token endpoint refused integration dot-user at the "
                    + "last refresh of alice (invalid_client (HTTP 401)"), "\(run.stderr)")
        #expect(
            run.stderr.hasSuffix(
                "a sign-in ends with a request there, made the same way: fix the integration first (import it "
                    + "again), then refresh alice; it renews itself, or shows that it needs re-auth\n"),
            "\(run.stderr)")
        #expect(!(run.stdout + run.stderr).contains("fake-wrong-secret-0000"))
        #expect(try setup.show("alice")["status"] as? String == "failing")
    }

    /// Another process's lock when the sign-in starts delays its "started" audit entry, not the sign-in: the URL
    /// showed only after the entry's 5 s busy timeout before, and the entry was lost to a longer lock. The entries
    /// keep their order.
    @Test func aSignInStartsAtOnceWhileAnotherProcessHoldsTheLock() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let holder = try await DatabaseFaultTests.LockHolder(setup.sandbox.database)
        let started = Date()
        let process = try setup.reauth("alice")
        let url = try await signInURL(process)
        // Timed where the output arrived, not where this task, perhaps kept waiting by a loaded machine, saw it.
        let shownAfter = process.arrival(ofOutput: url).map { $0.timeIntervalSince(started) } ?? .infinity
        // Held past the busy timeout: the start's entry is written again until the lock goes, not lost.
        try await Task.sleep(for: .seconds(7))
        try await holder.release()
        #expect(shownAfter < 4.5, "the URL showed after \(shownAfter) s")
        _ = try setup.server.consent(to: url)
        #expect(try await process.finish() == 0, "\(process.stderr)")
        let entries = try setup.store().auditLog().filter { $0.action == .reauth && $0.target == "alice" }
        #expect(entries.map(\.outcome) == ["started", "ok"], "\(entries)")
    }

    /// The database stays locked past the busy timeout when the sign-in's tokens arrive: they are held and written
    /// once the lock goes, not lost with the user's sign-in.
    @Test func aDatabaseLockedWhenTheTokensArriveIsWaitedOut() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let process = try setup.reauth("alice")
        let url = try await signInURL(process)
        let holder = try await DatabaseFaultTests.LockHolder(setup.sandbox.database)
        _ = try setup.server.consent(to: url)
        // Longer than the lease's 10 s wait and the write's 5 s busy timeout after it: the first write fails.
        try await Task.sleep(for: .seconds(18))
        try await holder.release()
        #expect(try await process.finish() == 0, "\(process.stderr)")
        #expect(
            process.stdout.contains(
                "alice: the database cannot take the new tokens yet (the database \(setup.sandbox.database) stayed "
                    + "locked by another process for more than 5 seconds); trying again for up to a minute"),
            "\(process.stdout)")
        #expect(process.stdout.contains("alice: re-authorized; expires in"), "\(process.stdout)")
        #expect(try setup.show("alice")["status"] as? String == "healthy")
    }

    /// Cancelling is not held up by another process's lock: its history and audit entries wait 100 ms for it, not
    /// the busy timeout (which made Ctrl-C take 10 s).
    @Test func ctrlCWhileTheDatabaseIsLockedBeforeTheSignInEndsAtOnce() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let process = try setup.reauth("alice")
        _ = try await signInURL(process)
        let holder = try await DatabaseFaultTests.LockHolder(setup.sandbox.database)
        let seconds = await process.interruptTimed(timeout: 15)
        #expect(try await process.finish(timeout: 1) == 1)
        // Two busy timeouts (10 s) before; 0.2 s of lock waits now, and a loaded CI machine took 3.5 s to exit.
        #expect((seconds ?? 99) < 6, "\(seconds ?? 99) s")
        #expect(process.stderr.contains("re-auth failed: the sign-in was cancelled; nothing was stored"))
        try await holder.release()
    }

    @Test func ctrlCWhileTheDatabaseIsLockedGivesTheNewTokensUp() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let before = try setup.show("alice")
        let process = try setup.reauth("alice")
        let url = try await signInURL(process)
        let holder = try await DatabaseFaultTests.LockHolder(setup.sandbox.database)
        _ = try setup.server.consent(to: url)
        _ = try await process.waitForOutput(timeout: 40) { $0.contains("the database cannot take the new tokens yet") }
        let seconds = await process.interruptTimed(timeout: 15)
        // At most one write is under way, bounded by the 5 s busy timeout.
        #expect(try await process.finish(timeout: 1) == 1)
        #expect((seconds ?? 99) < 8, "\(seconds ?? 99) s")
        #expect(
            process.stderr.contains(
                "alice: re-auth failed: the re-auth was cancelled while the database could not take the new tokens "
                    + "(the database \(setup.sandbox.database) stayed locked by another process"),
            "\(process.stderr)")
        #expect(process.stderr.contains("they were not stored and alice is as it was"), "\(process.stderr)")
        try await holder.release()
        let after = try setup.show("alice")
        #expect(after["status"] as? String == before["status"] as? String)
        #expect(after["access_fingerprint"] as? String == before["access_fingerprint"] as? String)
        // The failure's history entry met the same lock and was not written; the sign-in left no trace either.
        #expect(try setup.lastHistory("alice")["kind"] as? String != "reauthorized")
    }

    @Test func aTakenPortFailsAtOnceWithoutAURL() async throws {
        let holder = try PortHolder()
        let setup = try await setup([("alice", "dot-user")], redirectURI: "http://127.0.0.1:\(holder.port)/callback")
        defer { setup.sandbox.remove() }
        let started = Date()
        let process = try setup.reauth("alice")
        #expect(try await process.finish() == 1)
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(process.stderr.contains("re-auth failed: port \(holder.port) on 127.0.0.1 is taken by another program"))
        #expect(!process.stdout.contains("/o/authorize/"))
        #expect(try setup.lastHistory("alice")["kind"] as? String == "reauth_failed")
    }

    @Test func ctrlCCancelsTheSignIn() async throws {
        let setup = try await setup([("alice", "dot-user")])
        defer { setup.sandbox.remove() }
        let process = try setup.reauth("alice")
        _ = try await signInURL(process)
        process.interrupt()
        #expect(try await process.finish(timeout: 10) == 1)
        #expect(process.stderr.contains("re-auth failed: the sign-in was cancelled; nothing was stored"))
        #expect(try setup.lastHistory("alice")["message"] as? String == "re-auth cancelled; nothing was stored")
    }

    // MARK: - Device authorization grant

    @Test func aUserApprovesADeviceCode() async throws {
        let setup = try await setup([("tv", "dot-device")])
        defer { setup.sandbox.remove() }
        let process = try setup.reauth("tv")
        let code = try await userCode(process)
        #expect(process.stdout.contains("open \(setup.server.server.baseURL.absoluteString)/o/device/ and enter"))
        #expect(
            process.stdout.contains("or open \(setup.server.server.baseURL.absoluteString)/o/device/?user_code=\(code)")
        )
        let page = try setup.server.decide(userCode: code)
        #expect(page["title"] as? String == "Device Authorized")
        #expect(try await process.finish() == 0, "\(process.stderr)")
        #expect(process.stdout.contains("tv: re-authorized; expires in 1h00m; scopes: read; refresh token stored"))
        #expect(try setup.show("tv")["status"] as? String == "healthy")
        let tokens = try setup.store().tokenSecrets(connectionID: "tv")
        let active = try await setup.server.server.introspect(token: try #require(tokens.access).value)
        #expect(active)
    }

    @Test func aDeniedDeviceCodeChangesNothing() async throws {
        let setup = try await setup([("tv", "dot-device")])
        defer { setup.sandbox.remove() }
        let before = try setup.show("tv")
        let process = try setup.reauth("tv")
        _ = try setup.server.decide(userCode: try await userCode(process), deny: true)
        #expect(try await process.finish() == 1)
        #expect(process.stderr.contains("re-auth failed: the user denied the device code (access_denied)"))
        try expectUnchanged(setup, id: "tv", before: before)
    }

    @Test func aDeviceCodeNobodyApprovesExpires() async throws {
        let setup = try await setup([("tv", "dot-device-short")])
        defer { setup.sandbox.remove() }
        let before = try setup.show("tv")
        let started = Date()
        let process = try setup.reauth("tv")
        #expect(try await process.finish() == 1)
        #expect(Date().timeIntervalSince(started) < 60)
        // The provider gives the code 3 s; a loaded machine may take a second or two to print, and shows 2s or 1s.
        #expect(["3s", "2s", "1s"].contains { process.stdout.contains("the code expires in \($0)") }, "\(process.stdout)")
        // tokentop ends the flow at the code's expiry itself, since a poll after it could only be refused; on a
        // loaded machine a poll sent just before may reach the provider just after, which says expired_token.
        let ending = ["(after 3s); nothing was stored", "(expired_token); nothing was stored"]
        let expired = "re-auth failed: the device code expired before the user approved it "
        #expect(ending.contains { process.stderr.contains(expired + $0) }, "\(process.stderr)")
        try expectUnchanged(setup, id: "tv", before: before)
    }

    /// The connection still needs re-auth with its old token, and its history ends with the failed attempt.
    func expectUnchanged(
        _ setup: Setup, id: String = "alice", before: [String: Any], sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let after = try setup.show(id)
        #expect(after["status"] as? String == "needs-reauth", sourceLocation: sourceLocation)
        #expect(
            after["access_fingerprint"] as? String == before["access_fingerprint"] as? String,
            sourceLocation: sourceLocation)
        #expect(
            after["refresh_fingerprint"] as? String == before["refresh_fingerprint"] as? String,
            sourceLocation: sourceLocation)
        #expect(try setup.lastHistory(id)["kind"] as? String == "reauth_failed", sourceLocation: sourceLocation)
    }
}

/// A port on 127.0.0.1 that another program listens on, for as long as this value lives.
final class PortHolder {
    let port: UInt16
    private let socket: Int32

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        guard fd >= 0, bound else { throw OAuthServerFixture.Failure("cannot hold a port on 127.0.0.1") }
        socket = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(socket) }
}
