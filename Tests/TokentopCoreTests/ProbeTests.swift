import Foundation
import Testing

@testable import TokentopCore

/// The prober's parts: the request it builds, how it reads an answer, when it is due, and how a result is stored.
@Suite struct ProbeTests {
    static let url = URL(string: "https://api.vendor.test/v1/me?fields=id")!
    static let key = Secret("fake-api-key-0001-vendor")

    static func request(
        _ credential: CredentialKind = .apiKey, secret: Secret = key, placement: APIKeyPlacement? = nil
    ) throws -> ProbeRequest {
        try ProbeRequest.make(url: url, credential: credential, secret: secret, placement: placement).get()
    }

    // MARK: - The request

    @Test func aKeyGoesAsBearerUnlessTheIntegrationSaysOtherwise() throws {
        let bearer = try Self.request()
        #expect(bearer.request.method == "GET")
        #expect(bearer.request.url == Self.url)
        #expect(bearer.request.header("Authorization") == "Bearer \(Self.key.value)")
        #expect(bearer.request.body.isEmpty)

        let header = try Self.request(placement: APIKeyPlacement(location: .header, name: "X-API-Key"))
        #expect(header.request.header("X-API-Key") == Self.key.value)
        #expect(header.request.header("Authorization") == nil)
        #expect(header.request.url == Self.url)
    }

    @Test func aQueryKeyIsPercentEncodedAfterTheExistingQuery() throws {
        let secret = Secret("fake key+&=/0001")
        let query = try Self.request(secret: secret, placement: APIKeyPlacement(location: .query, name: "api_key"))
        #expect(
            query.request.url.absoluteString
                == "https://api.vendor.test/v1/me?fields=id&api_key=fake%20key%2B%26%3D%2F0001")
        #expect(query.request.header("Authorization") == nil)
        // Both the plain and the encoded form are scrubbed from anything the answer says.
        #expect(query.scrub("got fake key+&=/0001 and fake%20key%2B%26%3D%2F0001") == "got [redacted] and [redacted]")
    }

    @Test(arguments: [
        "fake+apikey%2FSECRET%2B2%26x%3D1",  // Python's quote_plus
        "fake%20apikey/SECRET%2B2%26x%3D1",  // Python's quote: the slash left alone
        "fake%20apikey%2fSECRET%2b2%26x%3d1",  // lower-case hex
        "fake apikey\\/SECRET+2&x=1",  // JSON with an escaped slash
        "%66ake+apikey%2FSECRET+2&x=1",  // a letter encoded, the plus sign not
    ])
    func aQueryKeyEchoedInAnyEncodingIsScrubbed(_ echo: String) throws {
        let secret = Secret("fake apikey/SECRET+2&x=1")
        let query = try Self.request(secret: secret, placement: APIKeyPlacement(location: .query, name: "key"))
        #expect(query.scrub("{\"error\": \"bad key \(echo)\"}") == "{\"error\": \"bad key [redacted]\"}")
    }

    @Test func aBasicPasswordEchoedPercentEncodedIsScrubbed() throws {
        let basic = try Self.request(.basic, secret: Secret("svc:fake pass/0001"))
        #expect(
            basic.scrub("c3ZjOmZha2UgcGFzcy8wMDAx fake+pass%2F0001 fake%20pass/0001")
                == "[redacted] [redacted] [redacted]")
    }

    @Test func basicAuthIsUserColonPasswordInBase64() throws {
        let basic = try Self.request(.basic, secret: Secret("svc:fake-pass-0001"))
        #expect(basic.request.header("Authorization") == "Basic c3ZjOmZha2UtcGFzcy0wMDAx")
        #expect(basic.scrub("c3ZjOmZha2UtcGFzcy0wMDAx fake-pass-0001") == "[redacted] [redacted]")
        let broken = ProbeRequest.make(
            url: Self.url, credential: .basic, secret: Secret("no-colon-here"), placement: nil)
        #expect(throws: ProbeProblem.self) { try broken.get() }
    }

    @Test(arguments: [CredentialKind.oauth2, .appKey])
    func tokensAndPrivateKeysAreNeverProbed(credential: CredentialKind) {
        let result = ProbeRequest.make(url: Self.url, credential: credential, secret: Self.key, placement: nil)
        #expect(throws: ProbeProblem.self) { try result.get() }
    }

    // MARK: - Reading the answer

    static func answer(_ status: Int, _ body: String, type: String = "application/json") throws -> ProbeVerdict {
        ProbeVerdict.answer(
            HTTPResponse(status: status, headers: ["Content-Type": type], body: Data(body.utf8)), request: try request()
        )
    }

    @Test func verdictsByStatus() throws {
        #expect(try Self.answer(204, "") == ProbeVerdict(outcome: .ok, detail: "HTTP 204", status: 204))
        #expect(try Self.answer(401, #"{"error":"invalid_key"}"#).outcome == .rejected)
        #expect(try Self.answer(403, "").outcome == .rejected)
        #expect(try Self.answer(429, "").outcome == .failed)
        #expect(try Self.answer(307, "").detail == "HTTP 307: a redirect, not followed")
        #expect(try Self.answer(502, "<html><h1>Bad gateway</h1></html>", type: "text/html").detail == "HTTP 502")
    }

    @Test func theProvidersReasonIsKeptShortAndClean() throws {
        let echoed = try Self.answer(401, #"{"message":"Invalid key \#(Self.key.value)\u001b[31m"}"#)
        #expect(echoed.detail == "HTTP 401: Invalid key [redacted]\u{FFFD}[31m")
        let nested = try Self.answer(403, #"{"error":{"message":"Forbidden for this org","code":7}}"#)
        #expect(nested.detail == "HTTP 403: Forbidden for this org")
        let long = try Self.answer(500, String(repeating: "overloaded ", count: 30), type: "text/plain; charset=utf-8")
        #expect(long.detail.count <= "HTTP 500: ".count + ProbeVerdict.reasonLength + 1)
        #expect(long.detail.hasSuffix("…"))
        // A token-like run the provider made up is masked too.
        let masked = try Self.answer(401, #"{"message":"key abcdefghijklmnopqrstuvwxyz0123 revoked"}"#)
        #expect(masked.detail == "HTTP 401: key [masked] revoked")
    }

    @Test func noAnswerNamesTheKindNeverTheURL() {
        let timeout = ProbeVerdict.noAnswer(URLError(.timedOut), timeout: 10)
        #expect(timeout == ProbeVerdict(outcome: .failed, detail: "no answer within 10s", status: nil))
        let refused = ProbeVerdict.noAnswer(URLError(.cannotConnectToHost), timeout: 10)
        #expect(refused.detail == "network error: cannot connect")
    }

    // MARK: - Schedule

    @Test func dueTimesFollowTheIntegrationsIntervalWithAFixedJitter() {
        let policy = ProbePolicy.standard
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        var integration = Integration(
            id: "vendor", provider: "vendor", tokenURL: Self.url, clientID: "c", clientAuth: .none, probeURL: Self.url,
            probeInterval: 600)
        var key = Connection(
            id: "vendor-key", integrationID: "vendor", scope: .org, subject: "o", credential: .apiKey, grant: .none,
            accessFingerprint: "fake…00000000", createdAt: now.addingTimeInterval(-30))
        // Never probed: due at once.
        #expect(policy.dueAt(key, integration: integration) == key.createdAt)
        key.probe = ProbeResult(at: now, ok: true, detail: "HTTP 200")
        let due = policy.dueAt(key, integration: integration)!
        let delay = due.timeIntervalSince(now)
        #expect(delay > 540 && delay <= 600)
        #expect(policy.dueAt(key, integration: integration) == due)
        integration.probeInterval = nil
        #expect(policy.dueAt(key, integration: integration)!.timeIntervalSince(now) > 810)
        // Not probed: no probe URL, a revoked key, a token, a private key.
        integration.probeURL = nil
        #expect(policy.dueAt(key, integration: integration) == nil)
        integration.probeURL = Self.url
        var revoked = key
        revoked.revokedAt = now
        #expect(policy.dueAt(revoked, integration: integration) == nil)
        var token = key
        token.credential = .oauth2
        #expect(policy.dueAt(token, integration: integration) == nil)
        var appKey = key
        appKey.credential = .appKey
        #expect(policy.dueAt(appKey, integration: integration) == nil)
    }

    // MARK: - Storing

    /// Two stores on one file, as two processes open it, holding API key `acme-key`; the directory goes with them.
    static func twoStores() throws -> (Store, Store, StoreTemporaryDirectory) {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("probe.sqlite3")
        let first = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        let second = try Store.open(path: path, secrets: SecretBox(key: StoreFixtures.key))
        _ = try first.importBundle(
            ImportBundle(
                source: "test", integrations: [StoreFixtures.integration()],
                connections: [
                    ImportBundle.ConnectionEntry(
                        id: "acme-key", integrationID: "acme", scope: .org, subject: "org:acme", credential: .apiKey,
                        grant: .none, accessToken: Secret("fake-api-key-0001"))
                ]), at: StoreFixtures.epoch)
        return (first, second, directory)
    }

    @Test func historyOnlyWhenTheOutcomeChangesEvenAcrossProcesses() throws {
        let (first, second, directory) = try Self.twoStores()
        defer { withExtendedLifetime(directory) {} }
        let fingerprint = try #require(try first.connection(id: "acme-key")?.accessFingerprint)
        func record(_ store: Store, _ verdict: ProbeVerdict, _ seconds: Double) throws -> Store.ProbeRecord? {
            try store.recordProbe(
                connectionID: "acme-key", verdict: verdict, fingerprint: fingerprint,
                rejectedReason: verdict.outcome == .rejected ? "rejected" : nil,
                at: StoreFixtures.epoch.addingTimeInterval(seconds))
        }
        let ok = ProbeVerdict(outcome: .ok, detail: "HTTP 200", status: 200)
        let rejected = ProbeVerdict(outcome: .rejected, detail: "HTTP 401: no (request 1)", status: 401)
        let rejectedAgain = ProbeVerdict(outcome: .rejected, detail: "HTTP 401: no (request 2)", status: 401)
        #expect(try record(first, ok, 1)?.entry?.kind == .probeOK)
        #expect(try record(second, ok, 2)?.entry == nil)
        let refusal = try #require(try record(second, rejected, 3))
        #expect(refusal.entry?.kind == .needsReauth)
        #expect(refusal.connection.reauthReason == "rejected")
        #expect(try record(first, rejectedAgain, 4)?.entry == nil)
        let back = try #require(try record(first, ok, 5))
        #expect(back.entry?.message == "probe ok: HTTP 200; the credential is accepted again")
        #expect(back.connection.reauthReason == nil)
        #expect(
            back.connection.probe
                == ProbeResult(at: StoreFixtures.epoch.addingTimeInterval(5), ok: true, detail: "HTTP 200"))
        let kinds = try second.history(connectionID: "acme-key", limit: 20).map(\.kind)
        #expect(kinds == [.imported, .probeOK, .needsReauth, .probeOK])
        // A result for a key that was replaced meanwhile is dropped.
        #expect(
            try first.recordProbe(
                connectionID: "acme-key", verdict: rejected, fingerprint: "other…00000000", rejectedReason: "x",
                at: StoreFixtures.epoch.addingTimeInterval(6)) == nil)
    }

    /// A probe's history entry is shown by the prober itself: this process's history feed passes over it (read
    /// back first, it was shown, and logged by a daemon, twice), while another process's feed reads it.
    @Test func theFeedOfTheProcessThatProbedPassesOverItsEntry() throws {
        let (here, there, directory) = try Self.twoStores()
        defer { withExtendedLifetime(directory) {} }
        let start = try here.latestHistoryID()
        let fingerprint = try #require(try here.connection(id: "acme-key")?.accessFingerprint)
        let probed = try here.recordProbe(
            connectionID: "acme-key", verdict: ProbeVerdict(outcome: .ok, detail: "HTTP 200", status: 200),
            fingerprint: fingerprint, rejectedReason: nil, at: StoreFixtures.epoch.addingTimeInterval(1))
        #expect(probed?.entry?.kind == .probeOK)
        // Another writer's entry after it is read by both.
        try there.appendHistory(
            HistoryEntry(
                at: StoreFixtures.epoch.addingTimeInterval(2), connectionID: "acme-key", kind: .refreshFailed,
                message: "written elsewhere"))
        let ownFeed = try here.history(since: start, skipping: { [] })
        #expect(ownFeed.entries.map(\.message) == ["written elsewhere"])
        #expect(ownFeed.latest == start + 2)
        let otherFeed = try there.history(since: start, skipping: { [] })
        #expect(otherFeed.entries.map(\.kind) == [.probeOK, .refreshFailed])
        #expect(try here.locked { here.shownHere }.isEmpty, "forgotten once the feed passed it")
    }

    // MARK: - Ages and import

    @Test(
        arguments: [
            (41 * 86_400 + 5, "set 41 days ago", "41d old"),
            (86_400, "set 1 day ago", "1d old"),
            (3 * 3_600 + 59, "set 3 hours ago", "3h old"),
            (60, "set 1 minute ago", "1m old"),
            (5, "set just now", "new"),
            (800 * 86_400, "set 800 days ago", "2y old"),
        ] as [(Double, String, String)])
    func secretAges(seconds: Double, phrase: String, short: String) {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(SecretAge.phrase(since: now.addingTimeInterval(-seconds), now: now) == phrase)
        #expect(SecretAge.short(since: now.addingTimeInterval(-seconds), now: now) == short)
        #expect(SecretAge.short(since: now.addingTimeInterval(-seconds), now: now).count <= 8)
    }

    @Test(arguments: ["no-colon", ":fake-password-only"])
    func aBasicCredentialMustBeUserColonPassword(secret: String) {
        let text = """
            {"integrations": [{"id": "v", "provider": "v", "token_url": "https://v.test/t", "client_id": "c",
               "client_auth": "none"}],
             "connections": [{"id": "v-basic", "integration": "v", "scope": "org", "subject": "org:v",
               "credential": "basic", "secret": "\(secret)"}]}
            """
        let error = #expect(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "b.json") }
        #expect(error?.description.contains("connections[0] (id \"v-basic\"): secret: a basic credential is") == true)
        #expect(error?.description.contains(secret) == false)
    }
}
