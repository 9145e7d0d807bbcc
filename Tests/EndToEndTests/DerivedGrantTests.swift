import Foundation
import Testing
import TokentopCore

/// On-behalf-of (Microsoft's shape) and token exchange (RFC 8693) against Tests/Interop/assertions, which checks
/// every field of the request and mints tokens only from the parent's live access token.
///
/// The first tests check the server (so a refusal later is the product's fault); the rest drive the `tokentop`
/// binary and, for the refresh actor's own schedule, the engine. Token values never reach an `#expect`.
@Suite("Derived grants against a field-checking server")
struct DerivedGrantTests {
    typealias Server = AssertionServerFixture

    // MARK: - The server accepts the right request and refuses each wrong field

    @Test func theServerAcceptsBothShapesWithEitherClientAuthentication() async throws {
        let server = try await Server.start()
        let obo = try await server.token(Server.goodOnBehalfOf)
        #expect(obo.status == 200, "\(obo)")
        let posted = try await server.token(
            Server.goodTokenExchange + [("client_id", Server.clientID), ("client_secret", Server.clientSecret)],
            basic: nil)
        #expect(posted.status == 200, "\(posted)")
        #expect(posted.string("issued_token_type") == Server.accessTokenType)
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["on_behalf_of", "token_exchange"])
        #expect(seen.map(\.clientAuth) == ["client_secret_basic", "client_secret_post"])
        #expect(seen.map(\.sub) == [Server.parentSubject, Server.parentSubject])
        #expect(seen.last?.audience == [Server.audience])
        #expect(seen.last?.resource == [Server.resource])
    }

    /// One wrong thing in an otherwise correct request; `onBehalfOf` says which grant it breaks.
    enum Fault: String, CaseIterable, Sendable {
        case oboUseMisspelt, oboNoAssertion, oboUnknownAssertion, oboWrongScope, oboForeignField, oboRepeatedScope
        case exchangeWrongSubjectType, exchangeNoSubjectType, exchangeUnknownSubject, exchangeWrongAudience
        case exchangeNoResource, exchangeExtraResource, exchangeWrongScope, exchangeActorWithoutType
        case exchangeOtherRequestedType, noClientAuthentication, wrongClientSecret, twoClientAuthentications

        var onBehalfOf: Bool { rawValue.hasPrefix("obo") || self == .wrongClientSecret }

        /// The OAuth error, the HTTP status, and words of the description.
        var expected: (error: String, status: Int, words: String) {
            switch self {
            case .oboUseMisspelt: ("invalid_request", 400, "requested_token_use must be on_behalf_of")
            case .oboNoAssertion: ("invalid_request", 400, "assertion")
            case .oboUnknownAssertion, .exchangeUnknownSubject: ("invalid_grant", 400, "not an access token")
            case .oboWrongScope, .exchangeWrongScope: ("invalid_scope", 400, "scope must be exactly")
            case .oboForeignField: ("invalid_request", 400, "does not take: subject_token")
            case .oboRepeatedScope: ("invalid_request", 400, "more than once: scope")
            case .exchangeWrongSubjectType, .exchangeNoSubjectType: ("invalid_request", 400, "subject_token_type")
            case .exchangeWrongAudience, .exchangeNoResource, .exchangeExtraResource:
                ("invalid_target", 400, "must be")
            case .exchangeActorWithoutType: ("invalid_request", 400, "actor_token_type goes with actor_token")
            case .exchangeOtherRequestedType: ("invalid_request", 400, "access tokens only")
            case .noClientAuthentication: ("invalid_client", 401, "no client authentication")
            case .wrongClientSecret: ("invalid_client", 401, "secret is wrong")
            case .twoClientAuthentications: ("invalid_request", 400, "authenticated twice")
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func theServerRefusesEachWrongField(_ fault: Fault) async throws {
        let server = try await Server.start()
        var fields = fault.onBehalfOf ? Server.goodOnBehalfOf : Server.goodTokenExchange
        // The control: the same request, unbroken, is accepted, so the one fault below is what the server refuses.
        let control = try await server.token(fields)
        #expect(control.status == 200, "\(control)")

        var basic: (String, String)? = (Server.clientID, Server.clientSecret)
        func set(_ name: String, _ value: String?) {
            fields.removeAll { $0.0 == name }
            if let value { fields.append((name, value)) }
        }
        switch fault {
        case .oboUseMisspelt: set("requested_token_use", "on-behalf-of")
        case .oboNoAssertion: set("assertion", nil)
        case .oboUnknownAssertion: set("assertion", "fake-unknown-access-0009")
        case .oboWrongScope: set("scope", "https://graph.example.test/Mail.Read")
        case .oboForeignField: fields.append(("subject_token", Server.parentAccessToken))
        case .oboRepeatedScope: fields.append(("scope", Server.oboScope))
        case .exchangeWrongSubjectType: set("subject_token_type", "urn:ietf:params:oauth:token-type:id_token")
        case .exchangeNoSubjectType: set("subject_token_type", nil)
        case .exchangeUnknownSubject: set("subject_token", "fake-unknown-access-0009")
        case .exchangeWrongAudience: set("audience", "api://billing")
        case .exchangeNoResource: set("resource", nil)
        case .exchangeExtraResource: fields.append(("resource", "https://billing.example.test"))
        case .exchangeWrongScope: set("scope", "orders:write")
        case .exchangeActorWithoutType: fields.append(("actor_token", Server.parentAccessToken))
        case .exchangeOtherRequestedType:
            fields.append(("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"))
        case .noClientAuthentication: basic = nil
        case .wrongClientSecret: basic = (Server.clientID, "fake-wrong-secret-0009")
        case .twoClientAuthentications: fields.append(("client_secret", Server.clientSecret))
        }
        let reply = try await server.token(fields, basic: basic)
        let expected = fault.expected
        #expect(reply.status == expected.status, "\(reply)")
        #expect(reply.string("error") == expected.error, "\(reply)")
        #expect(reply.string("error_description")?.contains(expected.words) == true, "\(reply)")
        #expect(reply.object["access_token"] == nil)
        #expect(try await server.seen().count == 1, "only the control is recorded as seen")
        #expect(try await server.refused().map(\.error) == [expected.error])
    }

    @Test func aRefreshRotatesTheParentAndRetiresItsEarlierToken() async throws {
        let server = try await Server.start()
        let refreshed = try await server.token([
            ("grant_type", "refresh_token"), ("refresh_token", Server.parentRefreshToken),
        ])
        #expect(refreshed.status == 200, "\(refreshed)")
        let stale = try await server.token(Server.goodOnBehalfOf)
        #expect(stale.status == 400)
        #expect(stale.string("error") == "invalid_grant")
        let fresh = try #require(refreshed.string("access_token"))
        var fields = Server.goodOnBehalfOf
        fields.removeAll { $0.0 == "assertion" }
        fields.append(("assertion", fresh))
        #expect(try await server.token(fields).status == 200)
        let replay = try await server.token([
            ("grant_type", "refresh_token"), ("refresh_token", Server.parentRefreshToken),
        ])
        #expect(replay.string("error") == "invalid_grant", "a rotated refresh token is dead")
        #expect(try await server.seen().map(\.upstreamGeneration) == [1, 1])
    }

    // MARK: - The core's requests pass the checks

    @Test(arguments: [ClientAuthMethod.clientSecretBasic, .clientSecretPost])
    func theCoresRequestsAreAccepted(_ auth: ClientAuthMethod) async throws {
        let server = try await Server.start()
        let client = OAuthClient(transport: URLSessionTransport(timeout: 10))
        let secret = Secret(Server.clientSecret)
        let upstream = Secret(Server.parentAccessToken)
        let middle = Integration(
            id: "middle", provider: "microsoft", tokenURL: server.tokenURL, clientID: Server.clientID,
            clientAuth: auth, scopes: [Server.oboScope])
        let obo = try await client.onBehalfOf(integration: middle, clientSecret: secret, assertion: upstream).get()
        #expect(obo.accessToken.value.hasPrefix("fake-obo-"))
        let exchanger = Integration(
            id: "sts", provider: "okta", tokenURL: server.tokenURL, clientID: Server.clientID, clientAuth: auth,
            scopes: [Server.exchangeScope], audiences: [Server.audience], resources: [Server.resource])
        let exchanged = try await client.tokenExchange(
            integration: exchanger, clientSecret: secret, subjectToken: upstream, audiences: exchanger.audiences,
            resources: exchanger.resources
        ).get()
        #expect(exchanged.accessToken.value.hasPrefix("fake-exchanged-"))
        #expect(exchanged.expiresIn == 3600)
        #expect(try await server.seen().map(\.clientAuth) == Array(repeating: auth.rawValue, count: 2))
        #expect(try await server.refused().isEmpty)
    }

    // MARK: - tokentop end to end

    /// The integration of both children, and the parent's: one confidential client at the server.
    static func importFile(
        _ server: Server, _ sandbox: Sandbox, parentRefresh: String = Server.parentRefreshToken,
        parentExpiresIn: Int = 3600, auth: String = "client_secret_post"
    ) throws -> String {
        let base: [String: Any] = [
            "provider": "microsoft", "token_url": server.tokenURL.absoluteString, "client_id": Server.clientID,
            "client_secret": Server.clientSecret, "client_auth": auth,
        ]
        let integrations: [[String: Any]] = [
            base.merging(["id": "entra", "scopes": [Server.oboScope]]) { $1 },
            base.merging([
                "id": "sts", "provider": "okta", "scopes": [Server.exchangeScope], "audience": Server.audience,
                "resource": [Server.resource],
            ]) { $1 },
        ]
        let connections: [[String: Any]] = [
            [
                "id": "obo-graph", "integration": "entra", "scope": "delegated", "subject": Server.parentSubject,
                "grant": "on_behalf_of", "parent": "acme-admin",
            ],
            [
                "id": "tx-orders", "integration": "sts", "scope": "delegated", "subject": Server.parentSubject,
                "grant": "token_exchange", "parent": "acme-admin",
            ],
            [
                "id": "acme-admin", "integration": "entra", "scope": "delegated", "subject": Server.parentSubject,
                "access_token": Server.parentAccessToken, "refresh_token": parentRefresh,
                "expires_in": parentExpiresIn,
            ],
        ]
        let data = try JSONSerialization.data(
            withJSONObject: ["integrations": integrations, "connections": connections], options: [.sortedKeys])
        let path = try sandbox.write("derived-import.json", String(decoding: data, as: UTF8.self))
        let imported = try Binary.run(["import", path], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")
        return path
    }

    /// `tokentop list --json`, by id.
    static func list(_ sandbox: Sandbox) throws -> (objects: [String: [String: Any]], text: String) {
        let listed = try Binary.run(["list", "--json"], environment: sandbox.environment)
        #expect(listed.status == 0, "\(listed.stderr)")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let byID = Dictionary(array.map { ($0["id"] as? String ?? "", $0) }, uniquingKeysWith: { $1 })
        return (byID, listed.stdout)
    }

    static func leaks(_ texts: String...) -> [String] {
        ["fake-obo-", "fake-exchanged-", "fake-parent-", Server.clientSecret].filter { secret in
            texts.contains { $0.contains(secret) }
        }
    }

    @Test func bothChildrenAreMintedFromTheParentsToken() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox)

        let refresh = try Binary.run(["refresh", "obo-graph", "tx-orders"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        #expect(refresh.stdout.contains("obo-graph: refreshed"))
        #expect(refresh.stdout.contains("tx-orders: refreshed"))
        let (objects, text) = try Self.list(sandbox)
        for id in ["obo-graph", "tx-orders"] {
            let child = try #require(objects[id])
            #expect(child["status"] as? String == "healthy", "\(id)")
            #expect(child["parent"] as? String == "acme-admin")
            #expect(child["blocked_by_parent"] is NSNull)
            #expect(child["access_fingerprint"] is String)
            // Microsoft's answer carries a refresh token; the child renews from its parent, so it is not kept.
            #expect(child["refresh_fingerprint"] is NSNull)
        }
        #expect(objects["obo-graph"]?["granted_scopes"] as? [String] == [Server.oboScope])
        #expect(Self.leaks(refresh.stdout, refresh.stderr, text).isEmpty, "a secret was printed")

        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["on_behalf_of", "token_exchange"])
        #expect(seen.map(\.clientAuth) == ["client_secret_post", "client_secret_post"])
        #expect(seen.map(\.upstreamGeneration) == [0, 0], "the parent's current token, which was not due")
        #expect(seen.last?.audience == [Server.audience] && seen.last?.resource == [Server.resource])
        #expect(seen.last?.scope == Server.exchangeScope)

        let shown = try Binary.run(["show", "acme-admin"], environment: sandbox.environment)
        #expect(shown.stdout.contains("derived"), "\(shown.stdout)")
        #expect(shown.stdout.contains("2: obo-graph, tx-orders") || shown.stdout.contains("2: tx-orders, obo-graph"))
    }

    @Test func aChildRefreshesItsParentFirstWhenTheParentsTokenIsAboutToExpire() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox, parentExpiresIn: 20, auth: "client_secret_basic")

        let refresh = try Binary.run(["refresh", "tx-orders"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["refresh_token", "token_exchange"])
        // The server retired the seeded token when the parent rotated: the exchange sent the new one.
        #expect(seen.last?.upstreamGeneration == 1)
        #expect(try await server.refused().isEmpty)
        let (objects, _) = try Self.list(sandbox)
        #expect(objects["acme-admin"]?["status"] as? String == "healthy")
        #expect(objects["acme-admin"]?["last_refresh_at"] is String)
        #expect(objects["tx-orders"]?["status"] as? String == "healthy")
    }

    /// Another process holds the parent's lease (its refresh in flight, here never given back): an operator's
    /// refresh of the child waits for it, says nothing failed, and renews both once the lease has ended.
    @Test func aChildsRefreshWaitsForItsParentsRefreshInAnotherProcess() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox, parentExpiresIn: 20)
        // A live process on this host (this test's own) holds the parent's lease for 3 s.
        let owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):refresh-fake"
        let until = Date().timeIntervalSince1970 + 3
        _ = try RefreshRaceTests.sql(
            sandbox, "UPDATE connections SET lease_owner = '\(owner)', lease_until = \(until) WHERE id = 'acme-admin'")

        let refresh = try Binary.run(["refresh", "tx-orders"], environment: sandbox.environment)
        #expect(refresh.status == 0, "\(refresh.stdout)\(refresh.stderr)\n\(server.log)")
        #expect(refresh.stdout.contains("tx-orders: refreshed"), "\(refresh.stdout)")
        #expect(Date().timeIntervalSince1970 >= until, "the child's refresh did not wait for the parent's lease")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["refresh_token", "token_exchange"])
        #expect(seen.last?.upstreamGeneration == 1, "the exchange sent the parent's renewed token")
        let (objects, _) = try Self.list(sandbox)
        #expect(objects["acme-admin"]?["status"] as? String == "healthy")
        #expect(objects["tx-orders"]?["status"] as? String == "healthy")
    }

    /// The other process stores its refresh of the parent while the child's refresh waits: the child adopts it and
    /// sends the parent's token as stored, with no second refresh of the parent (one more rotation at the provider).
    @Test func aChildsRefreshAdoptsItsParentsRefreshByAnotherProcess() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox, parentExpiresIn: 20)
        let owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):refresh-fake"
        let until = Date().timeIntervalSince1970 + 60
        _ = try RefreshRaceTests.sql(
            sandbox, "UPDATE connections SET lease_owner = '\(owner)', lease_until = \(until) WHERE id = 'acme-admin'")
        let errors = sandbox.root.appendingPathComponent("refresh.err").path
        let refresh = try Binary.start(["refresh", "tx-orders"], environment: sandbox.environment, stderr: errors)
        defer { refresh.kill() }
        try await Task.sleep(for: .seconds(1))
        // What the other process's result writes: its lease given back, a new generation, an expiry an hour away.
        let now = Date().timeIntervalSince1970
        _ = try RefreshRaceTests.sql(
            sandbox,
            "UPDATE connections SET lease_owner = NULL, lease_until = NULL, generation = generation + 1, "
                + "last_refresh_at = \(now), issued_at = \(now), expires_at = \(now + 3600), due_at = \(now + 3000) "
                + "WHERE id = 'acme-admin'")
        #expect(await refresh.wait() == 0, "\((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["token_exchange"], "the parent was not refreshed a second time")
        #expect(seen.last?.upstreamGeneration == 0)
    }

    @Test func afterTheParentRotatesTheChildSendsTheFreshToken() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox)

        let first = try Binary.run(["refresh", "obo-graph"], environment: sandbox.environment)
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let parent = try Binary.run(["refresh", "acme-admin"], environment: sandbox.environment)
        #expect(parent.status == 0, "\(parent.stdout)\(parent.stderr)")
        let second = try Binary.run(["refresh", "obo-graph"], environment: sandbox.environment)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)\n\(server.log)")
        let seen = try await server.seen()
        #expect(seen.map(\.grant) == ["on_behalf_of", "refresh_token", "on_behalf_of"])
        #expect(seen.map(\.upstreamGeneration) == [0, 1, 1])
        #expect(try await server.refused().isEmpty, "no stale parent token was sent")
    }

    @Test func aBrokenParentShowsOnEveryChildAndCostsThemNoRequest() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // The provider no longer knows the parent's refresh token: consent withdrawn, say.
        _ = try Self.importFile(server, sandbox, parentRefresh: "fake-parent-refresh-0009", parentExpiresIn: 10)

        let first = try Binary.run(["refresh", "obo-graph"], environment: sandbox.environment)
        #expect(first.status == 1)
        #expect(
            first.stderr.contains(
                "obo-graph was not refreshed: parent acme-admin needs re-auth: invalid_grant (HTTP "
                    + "400): the refresh token is unknown"), "\(first.stdout)\(first.stderr)")
        let second = try Binary.run(["refresh", "tx-orders"], environment: sandbox.environment)
        #expect(second.status == 1)
        #expect(second.stderr.contains("tx-orders cannot renew: parent acme-admin needs re-auth"), "\(second.stderr)")

        let (objects, text) = try Self.list(sandbox)
        #expect(objects["acme-admin"]?["status"] as? String == "needs-reauth")
        for id in ["obo-graph", "tx-orders"] {
            let child = try #require(objects[id])
            #expect(child["status"] as? String == "needs-reauth", "\(id)")
            // Derived, not stored: the child itself was never refused.
            #expect(child["reauth_reason"] is NSNull)
            #expect(child["failures"] as? Int == 0)
            let block = try #require(child["blocked_by_parent"] as? [String: Any])
            #expect(block["parent"] as? String == "acme-admin")
            #expect(block["parent_status"] as? String == "needs-reauth")
            #expect(block["needs_human"] as? Bool == true)
            #expect((block["reason"] as? String)?.hasPrefix("parent acme-admin needs re-auth: invalid_grant") == true)
        }
        #expect(Self.leaks(first.stderr, second.stderr, text).isEmpty)
        #expect(try await server.seen().isEmpty)
        #expect(try await server.refused().map(\.grant) == ["refresh_token"], "one request, the parent's")

        let prompt = try Binary.run(["reauth", "tx-orders"], environment: sandbox.environment)
        #expect(prompt.stdout.contains("for parent acme-admin; then tx-orders renews by itself"), "\(prompt.stdout)")
        #expect(prompt.stdout.contains("why: parent acme-admin needs re-auth: invalid_grant"))

        let status = try Binary.run(["status"], environment: sandbox.environment)
        #expect(status.status == 2, "\(status.stdout)")
        #expect(status.stdout.contains("3 needs-reauth"))
    }

    @Test func aRevokedParentBlocksItsChildrenWithoutRevokingThem() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try Self.importFile(server, sandbox)
        let minted = try Binary.run(["refresh", "obo-graph"], environment: sandbox.environment)
        #expect(minted.status == 0, "\(minted.stdout)\(minted.stderr)")

        let revoked = try Binary.run(["revoke", "acme-admin"], environment: sandbox.environment)
        #expect(revoked.status == 0, "\(revoked.stdout)\(revoked.stderr)")
        let (objects, _) = try Self.list(sandbox)
        #expect(objects["acme-admin"]?["status"] as? String == "revoked")
        let child = try #require(objects["obo-graph"])
        #expect(child["status"] as? String == "needs-reauth")
        // Blocked, not revoked: its token was issued to the middle tier and stays valid until it expires.
        #expect(child["revoked_at"] is NSNull)
        #expect(child["access_fingerprint"] is String)
        let block = try #require(child["blocked_by_parent"] as? [String: Any])
        #expect(
            block["reason"] as? String == "blocked: parent acme-admin was revoked here; re-authorize it, then "
                + "this renews again")

        let refresh = try Binary.run(["refresh", "obo-graph"], environment: sandbox.environment)
        #expect(refresh.status == 1)
        #expect(refresh.stderr.contains("obo-graph cannot renew: blocked: parent acme-admin was revoked"))
        #expect(try await server.seen().map(\.grant) == ["on_behalf_of"], "nothing after the revocation")
        #expect(try await server.refused().isEmpty)
    }

    @Test func theRefreshActorSendsOneRequestForABrokenParentAndNoneForItsChildren() async throws {
        let server = try await Server.start()
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let path = try Self.importFile(server, sandbox, parentRefresh: "fake-parent-refresh-0009", parentExpiresIn: 5)
        // Five more children, all due at once (none has a token yet).
        var extra = ""
        for index in 0..<5 {
            extra += """
                {"id": "obo-\(index)", "integration": "entra", "scope": "delegated", "subject": "u\(index)@example.com",
                 "grant": "on_behalf_of", "parent": "acme-admin"},
                """
        }
        let more = try sandbox.write(
            "more.json", "{\"connections\": [\(extra.dropLast())]}")
        #expect(try Binary.run(["import", more], environment: sandbox.environment).status == 0)
        _ = path

        let store = try Store.open(
            path: sandbox.database, secrets: try SecretBox.load(environment: sandbox.environment), create: false)
        let engine = try Engine(store: store, transport: URLSessionTransport(timeout: 10), user: "test")
        engine.start()
        let deadline = Date().addingTimeInterval(60)
        var settled = false
        while Date() < deadline {
            let snapshot = engine.snapshot()
            let now = Date()
            settled = snapshot.connections.allSatisfy { snapshot.status(of: $0, at: now) == .needsReauth }
            if settled { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        // Give the actor time to hammer, if it were going to.
        try await Task.sleep(nanoseconds: 2_000_000_000)
        // Looked at once more: a loaded machine may have resumed this test only after the deadline (CI once did).
        let end = engine.snapshot()
        settled = settled || end.connections.allSatisfy { end.status(of: $0, at: Date()) == .needsReauth }
        await engine.stop()
        #expect(settled, "every connection shows needs-reauth")
        #expect(try await server.seen().isEmpty)
        #expect(try await server.refused().map(\.grant) == ["refresh_token"])
        let snapshot = engine.snapshot()
        let reasons = Set(snapshot.connections.compactMap { snapshot.parentBlock(of: $0, at: Date())?.reason })
        #expect(reasons.count == 1)
        #expect(reasons.first?.hasPrefix("parent acme-admin needs re-auth: invalid_grant") == true)
    }
}
