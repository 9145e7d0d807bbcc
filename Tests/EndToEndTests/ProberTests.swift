import Foundation
import Testing
import TokentopCore

/// Static credentials checked at their probe URL: the real prober, store and HTTP transport against a server of our
/// own on 127.0.0.1.
@Suite(.serialized)
struct ProberTests {
    static let key = "fake-api-key-0001-probe"
    static let wrongKey = "fake-api-key-0002-revoked"
    static let basic = "svc-reports:fake-password-0003"

    /// An engine on a fresh store with one integration pointing at `server` and one connection.
    struct Setup {
        let engine: Engine
        let directory: URL

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    static func setup(
        server: ProbeServer, path: String, credential: String = "api_key", secret: String = key,
        placement: (String, String)? = nil, timeout: Double = 30, interval: Double? = nil
    ) throws -> Setup {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-probe-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
        var integration: [String: Any] = [
            "id": "vendor", "provider": "vendor", "token_url": "\(server.base)/none", "client_id": "fake-client",
            "client_auth": "none", "probe_url": "\(server.base)\(path)",
        ]
        if let placement {
            integration["api_key_in"] = placement.0
            integration["api_key_name"] = placement.1
        }
        let connection: [String: Any] = [
            "id": "vendor-key", "integration": "vendor", "scope": "org", "subject": "org:fake",
            "credential": credential, "secret": secret, "secret_set_at": "2026-01-01T00:00:00Z",
        ]
        let data = try JSONSerialization.data(withJSONObject: [
            "integrations": [integration], "connections": [connection],
        ])
        var bundle = try ImportFile.parse(data, source: "probe-test.json")
        if let interval { bundle.integrations[0].integration.probeInterval = interval }
        _ = try store.importBundle(bundle, at: Date())
        // tokentop's own transport: URLSession on Linux once gave no answer within the probe's 30 s under CI load.
        let engine = try Engine(
            store: store, transport: try CurlTransport(timeout: 20), timeSource: SystemTimeSource(),
            user: "tester", probePolicy: ProbePolicy(timeout: timeout))
        return Setup(engine: engine, directory: directory)
    }

    static func server() throws -> ProbeServer { try ProbeServer(acceptedKey: key, acceptedBasic: basic) }

    @Test(
        arguments: [
            (nil, nil, "authorization", "Bearer \(key)"),
            ("header", "X-API-Key", "x-api-key", key),
            ("query", "api_key", nil, "api_key=\(key)"),
        ] as [(String?, String?, String?, String)])
    func apiKeyTravelsWhereTheIntegrationSays(location: String?, name: String?, header: String?, expected: String)
        async throws
    {
        let server = try Self.server()
        defer { server.stop() }
        let placement = location.flatMap { location in name.map { (location, $0) } }
        let setup = try Self.setup(server: server, path: "/check", placement: placement)
        defer { setup.remove() }
        let connection = try await setup.engine.refreshNow("vendor-key")
        #expect(connection.probe?.ok == true)
        #expect(connection.probe?.detail == "HTTP 200")
        #expect(connection.status(at: Date(), policy: .standard) == .static)
        let request = try #require(server.requests.last)
        #expect(request.method == "GET")
        #expect(request.path == "/check")
        if let header {
            #expect(request.headers[header] == expected)
            #expect(request.query.isEmpty)
        } else {
            #expect(request.query == expected)
            #expect(request.headers["authorization"] == nil)
        }
        if location != nil { #expect(request.headers["authorization"] == nil) }
        let history = try setup.engine.store.history(connectionID: "vendor-key", limit: 10)
        #expect(history.map(\.kind) == [.imported, .probeOK])
        #expect(history.last?.message == "probe ok: HTTP 200")
    }

    @Test func basicAuthTravelsAsAuthorizationBasic() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/check", credential: "basic", secret: Self.basic)
        defer { setup.remove() }
        let connection = try await setup.engine.refreshNow("vendor-key")
        #expect(connection.probe?.ok == true)
        let expected = "Basic " + Data(Self.basic.utf8).base64EncodedString()
        #expect(server.requests.last?.headers["authorization"] == expected)
    }

    @Test func rejectedKeyNeedsReauthAndIsNeverEchoed() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(
            server: server, path: "/check", secret: Self.wrongKey, placement: ("query", "api_key"))
        defer { setup.remove() }
        let engine = setup.engine
        let connection = try await engine.refreshNow("vendor-key")
        let probe = try #require(connection.probe)
        #expect(!probe.ok)
        // The server quoted the key back; the detail keeps its words and hides the key.
        #expect(probe.detail == "HTTP 401: Invalid API key provided: api_key=[redacted]")
        #expect(connection.status(at: Date(), policy: .standard) == .needsReauth)
        #expect(connection.reauthReason?.contains("HTTP 401") == true)
        let history = try engine.store.history(connectionID: "vendor-key", limit: 10)
        #expect(history.last?.kind == .needsReauth)
        #expect(history.last?.error?.status == 401)

        let snapshot = engine.snapshot()
        let texts = [
            ConnectionReport.json(snapshot, connections: Array(snapshot.connections), at: Date()),
            ConnectionReport.detailJSON(connection, snapshot: snapshot, history: history, at: Date()),
            ConnectionReport.detailText(connection, snapshot: snapshot, history: history, at: Date()),
            snapshot.events.map { "\($0.message) \($0.error?.summary ?? "")" }.joined(separator: "\n"),
            try engine.store.auditLog().map { "\($0.detail)" }.joined(separator: "\n"),
        ]
        for text in texts {
            #expect(!text.contains(Self.wrongKey), "the key leaked into: \(text.prefix(300))")
            #expect(text.contains("HTTP 401"))
        }

        // A key the provider accepts again clears the re-auth: one entry per change, not per probe.
        _ = try engine.store.importBundle(
            ImportBundle(
                source: "fix",
                connections: [
                    ImportBundle.ConnectionEntry(
                        id: "vendor-key", integrationID: "vendor", scope: .org, subject: "org:fake",
                        credential: .apiKey, grant: .none, accessToken: Secret(Self.key))
                ]), at: Date())
        let engine2 = try Engine(
            store: engine.store, transport: try CurlTransport(timeout: 20), user: "tester")
        _ = try await engine2.refreshNow("vendor-key")
        let again = try await engine2.refreshNow("vendor-key")
        #expect(again.probe?.ok == true)
        #expect(again.status(at: Date(), policy: .standard) == .static)
        let kinds = try engine2.store.history(connectionID: "vendor-key", limit: 20).map(\.kind)
        #expect(kinds.filter { $0 == .probeOK }.count == 1, "\(kinds)")
    }

    @Test func forbiddenIsARejectionToo() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/forbidden")
        defer { setup.remove() }
        let connection = try await setup.engine.refreshNow("vendor-key")
        #expect(connection.probe?.detail == "HTTP 403: This key lacks the permission to read.")
        #expect(connection.status(at: Date(), policy: .standard) == .needsReauth)
    }

    @Test func serverErrorStaysStaticWithAFailedProbe() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/error")
        defer { setup.remove() }
        let engine = setup.engine
        let first = try await engine.refreshNow("vendor-key")
        #expect(first.probe?.ok == false)
        #expect(first.probe?.detail == "HTTP 500: internal error")
        #expect(first.status(at: Date(), policy: .standard) == .static)
        #expect(first.reauthReason == nil)
        _ = try await engine.refreshNow("vendor-key")
        let history = try engine.store.history(connectionID: "vendor-key", limit: 10)
        // Two probes, one outcome: one history entry; but each asked-for probe is an event.
        #expect(history.map(\.kind) == [.imported, .probeFailed])
        #expect(engine.snapshot().events.filter { $0.kind == .probeFailed }.count == 2)
    }

    @Test func noAnswerIsATimeout() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/slow", timeout: 1)
        defer { setup.remove() }
        let started = Date()
        let connection = try await setup.engine.refreshNow("vendor-key")
        let elapsed = Date().timeIntervalSince(started)
        // The server never answers: the probe came back only because a limit cut it, and the 1 s one, not the
        // default's 10 s (a loaded machine once took 8 s to get the 1 s answer through, so no tighter bound).
        #expect(connection.probe?.detail == "no answer within 1s")
        #expect(connection.probe?.ok == false)
        #expect(elapsed < ProbePolicy.standard.timeout, "the probe took \(elapsed)s")
    }

    @Test func redirectIsNotFollowed() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/redirect", placement: ("header", "X-API-Key"))
        defer { setup.remove() }
        let connection = try await setup.engine.refreshNow("vendor-key")
        #expect(connection.probe?.detail == "HTTP 302: a redirect, not followed")
        #expect(connection.probe?.ok == false)
        #expect(server.requests.map(\.path) == ["/redirect"])
    }

    @Test func scheduledProbesRunBesideTheRefreshActor() async throws {
        let server = try Self.server()
        defer { server.stop() }
        let setup = try Self.setup(server: server, path: "/check", interval: 1)
        defer { setup.remove() }
        let engine = setup.engine
        engine.start()
        let deadline = Date().addingTimeInterval(10)
        while server.requests.count < 3, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        await engine.stop()
        #expect(server.requests.count >= 3)
        let connection = try #require(try engine.store.connection(id: "vendor-key"))
        #expect(connection.probe?.ok == true)
        // Unchanged outcomes are not history.
        let kinds = try engine.store.history(connectionID: "vendor-key", limit: 20).map(\.kind)
        #expect(kinds == [.imported, .probeOK])
    }

    @Test func refreshCommandProbesAStaticKey() throws {
        let server = try Self.server()
        defer { server.stop() }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write(
            "import.json",
            """
            {"integrations": [
              {"id": "vendor", "provider": "vendor", "token_url": "\(server.base)/none", "client_id": "fake-client",
               "client_auth": "none", "probe_url": "\(server.base)/check", "api_key_in": "header",
               "api_key_name": "X-API-Key"},
              {"id": "broken", "provider": "vendor", "token_url": "\(server.base)/none", "client_id": "fake-client",
               "client_auth": "none", "probe_url": "\(server.base)/check"},
              {"id": "plain", "provider": "vendor", "token_url": "\(server.base)/none", "client_id": "fake-client",
               "client_auth": "none"}
            ],
            "connections": [
              {"id": "good-key", "integration": "vendor", "scope": "org", "subject": "org:a", "credential": "api_key",
               "secret": "\(Self.key)"},
              {"id": "bad-key", "integration": "broken", "scope": "org", "subject": "org:b", "credential": "api_key",
               "secret": "\(Self.wrongKey)"},
              {"id": "unchecked", "integration": "plain", "scope": "org", "subject": "org:c", "credential": "api_key",
               "secret": "\(Self.wrongKey)"}
            ]}
            """)
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")
        let good = try Binary.run(["refresh", "good-key"], environment: sandbox.environment)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.stdout == "good-key: probe ok: HTTP 200\n")
        let bad = try Binary.run(["refresh", "bad-key"], environment: sandbox.environment)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("tokentop: bad-key: probe failed: HTTP 401"))
        #expect(bad.stderr.contains("tokentop: bad-key: needs re-auth"))
        let unchecked = try Binary.run(["refresh", "unchecked"], environment: sandbox.environment)
        #expect(unchecked.status == 1)
        #expect(unchecked.stderr.contains("has no probe_url"))
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        let show = try Binary.run(["show", "bad-key", "--json"], environment: sandbox.environment)
        let audit = try Binary.run(["audit"], environment: sandbox.environment)
        #expect(list.stdout.contains(#""status":"needs-reauth""#))
        for output in [
            good.stdout, bad.stdout, unchecked.stdout, unchecked.stderr, list.stdout, show.stdout,
            audit.stdout, bad.stderr,
        ] {
            #expect(!output.contains(Self.key))
            #expect(!output.contains(Self.wrongKey))
        }
    }
}
