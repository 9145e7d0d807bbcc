import Foundation
import Testing

@testable import TokentopCore

/// The facts each identity model adds to an import: sign-in endpoints, key placement and probes, parents,
/// workspaces and members; and that they survive the store.
@Suite struct IdentityFactsImportTests {
    static let file = """
        {"integrations": [
          {"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/oauth/token",
           "client_id": "fake-client-id", "client_secret": "fake-client-secret-0001",
           "authorization_url": "https://auth.acme.test/oauth/authorize",
           "device_authorization_url": "https://auth.acme.test/oauth/device"},
          {"id": "vandelay", "provider": "vandelay", "token_url": "https://api.vandelay.test/token",
           "client_id": "fake-client-id", "client_auth": "none", "api_key_in": "query", "api_key_name": "key",
           "probe_url": "https://api.vandelay.test/v1/me", "probe_interval": 600}
        ],
        "connections": [
          {"id": "child", "integration": "acme", "scope": "delegated", "subject": "bob@example.com",
           "access_token": "fake-access-token-0002", "parent": "admin"},
          {"id": "admin", "integration": "acme", "scope": "org", "subject": "org:acme",
           "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001"},
          {"id": "ws", "integration": "vandelay", "scope": "workspace", "subject": "ws:sales",
           "credential": "api_key", "secret": "fake-api-key-0003", "workspace": "Sales",
           "members": ["ann@example.com", "bo@example.com"], "secret_set_at": "2023-10-24T09:00:00Z"}
        ]}
        """

    @Test func theNewFactsRoundTripThroughTheStore() throws {
        let bundle = try ImportFile.parse(Data(Self.file.utf8), source: "models.json")
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        _ = try store.importBundle(bundle, at: StoreFixtures.epoch)

        let acme = try #require(try store.integrations().first { $0.id == "acme" })
        #expect(acme.authorizationURL?.absoluteString == "https://auth.acme.test/oauth/authorize")
        #expect(acme.deviceAuthorizationURL?.absoluteString == "https://auth.acme.test/oauth/device")
        #expect(acme.apiKeyPlacement == nil)
        let vandelay = try #require(try store.integrations().first { $0.id == "vandelay" })
        #expect(vandelay.apiKeyPlacement == APIKeyPlacement(location: .query, name: "key"))
        #expect(vandelay.probeURL?.absoluteString == "https://api.vandelay.test/v1/me")
        #expect(vandelay.probeInterval == 600)

        let child = try #require(try store.connection(id: "child"))
        #expect(child.parentID == "admin")
        #expect(child.secretSetAt == StoreFixtures.epoch)
        let ws = try #require(try store.connection(id: "ws"))
        #expect(ws.workspace == "Sales")
        #expect(ws.members == ["ann@example.com", "bo@example.com"])
        #expect(ws.secretSetAt == ImportFieldReader.parseRFC3339("2023-10-24T09:00:00Z"))
        #expect(ws.parentID == nil && ws.probe == nil)

        var probed = ws
        probed.probe = ProbeResult(at: StoreFixtures.epoch, ok: false, detail: "HTTP 401")
        try store.locked { try store.updateFacts(probed) }
        #expect(try store.connection(id: "ws")?.probe == probed.probe)
        #expect(try store.changes(since: 0).connections.map(\.id).contains("ws"))
    }

    @Test func showNamesTheSignInProbeAndKeyFactsOrNull() throws {
        let bundle = try ImportFile.parse(Data(Self.file.utf8), source: "models.json")
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        _ = try store.importBundle(bundle, at: StoreFixtures.epoch)
        let integrations = Dictionary(uniqueKeysWithValues: try store.integrations().map { ($0.id, $0) })
        let snapshot = DashboardSnapshot(
            databasePath: "db.sqlite3", connections: try store.connections(), integrations: integrations)
        func detail(_ id: String) throws -> [String: Any] {
            let connection = try #require(try store.connection(id: id))
            let json = ConnectionReport.detailJSON(connection, snapshot: snapshot, history: [], at: StoreFixtures.epoch)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            return try #require(object["integration_detail"] as? [String: Any])
        }
        let keyed = try detail("ws")
        #expect(keyed["api_key_in"] as? String == "query")
        #expect(keyed["api_key_name"] as? String == "key")
        #expect(keyed["probe_url"] as? String == "https://api.vandelay.test/v1/me")
        #expect(keyed["probe_interval"] as? Int == 600)
        #expect(keyed["authorization_url"] is NSNull && keyed["device_authorization_url"] is NSNull)
        let signIn = try detail("admin")
        #expect(signIn["authorization_url"] as? String == "https://auth.acme.test/oauth/authorize")
        #expect(signIn["device_authorization_url"] as? String == "https://auth.acme.test/oauth/device")
        for key in ["api_key_in", "api_key_name", "probe_url", "probe_interval"] { #expect(signIn[key] is NSNull) }

        let ws = try #require(try store.connection(id: "ws"))
        let text = ConnectionReport.detailText(ws, snapshot: snapshot, history: [], at: StoreFixtures.epoch)
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            .map { $0.joined(separator: " ") }
        #expect(lines.contains("probe URL https://api.vandelay.test/v1/me"))
        #expect(lines.contains("probe interval 10m00s"))
        #expect(lines.contains("API key in query key"))
        #expect(lines.contains("authorization URL none"))
        #expect(lines.contains("device auth URL none"))
    }

    @Test func aMissingParentIsRefusedAndNothingIsWritten() throws {
        let text = Self.file.replacingOccurrences(of: "\"parent\": \"admin\"", with: "\"parent\": \"nobody\"")
        let bundle = try ImportFile.parse(Data(text.utf8), source: "models.json")
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        let error = try #require(throws: ImportError.self) { try store.importBundle(bundle, at: StoreFixtures.epoch) }
        #expect(
            error.description
                == "models.json: connections[0] (id \"child\"): parent: no connection \"nobody\" in the file or in "
                + "the database \(store.path)")
        #expect(try store.connections().isEmpty)
    }

    @Test func derivationIsOneLevelDeep() throws {
        let text = Self.file.replacingOccurrences(
            of: "\"refresh_token\": \"fake-refresh-token-0001\"}",
            with: "\"refresh_token\": \"fake-refresh-token-0001\", \"parent\": \"ws\"}")
        let bundle = try ImportFile.parse(Data(text.utf8), source: "models.json")
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        let error = try #require(throws: ImportError.self) { try store.importBundle(bundle, at: StoreFixtures.epoch) }
        #expect(error.description.contains("parent: \"admin\" is itself derived from another connection"))
        #expect(try store.connections().isEmpty)
    }

    @Test(arguments: [
        ("\"api_key_in\": \"query\"", "integrations[0] (id \"acme\"): api_key_name: missing; api_key_in needs"),
        ("\"api_key_name\": \"X-Key\"", "integrations[0] (id \"acme\"): api_key_in: missing; say whether"),
        (
            "\"api_key_in\": \"cookie\", \"api_key_name\": \"k\"",
            "integrations[0] (id \"acme\"): api_key_in: unknown value \"cookie\"; expected one of header, query"
        ),
        (
            "\"api_key_in\": \"header\", \"api_key_name\": \"X Key\"",
            "integrations[0] (id \"acme\"): api_key_name: expected a plain header or parameter name"
        ),
        ("\"probe_interval\": 600", "integrations[0] (id \"acme\"): probe_interval: given without a probe_url"),
        (
            "\"probe_url\": \"https://a.test/me\", \"probe_interval\": 5",
            "integrations[0] (id \"acme\"): probe_interval: expected seconds between 60"
        ),
        ("\"probe_url\": \"ftp://a.test/me\"", "integrations[0] (id \"acme\"): probe_url: expected an http or https"),
    ])
    func badIntegrationFactsAreNamed(_ extra: String, _ expected: String) throws {
        let text = Self.file.replacingOccurrences(
            of: "\"device_authorization_url\": \"https://auth.acme.test/oauth/device\"}",
            with: "\"device_authorization_url\": \"https://auth.acme.test/oauth/device\", \(extra)}")
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(text.utf8), source: "models.json")
        }
        #expect(error.description.hasPrefix("models.json: \(expected)"))
    }

    @Test(arguments: [
        ("\"parent\": \"child\"", "parent: a connection cannot be its own parent"),
        ("\"workspace\": \"\"", "workspace: must not be empty"),
        ("\"members\": [\"a\", \"\"]", "members[1]: expected a non-empty string"),
        ("\"secret_set_at\": \"2026-02-30T00:00:00Z\"", "secret_set_at: 2026-02-30 is not a day of the calendar"),
        ("\"secret_set_at\": \"2099-01-01T00:00:00Z\"", "secret_set_at: more than ten years ahead"),
        ("\"secret_set_at\": \"2026-01-01\"", "secret_set_at: expected an RFC 3339 time"),
        ("\"expires_at\": \"2026-13-01T00:00:00Z\"", "expires_at: 2026-13-01 is not a day of the calendar"),
        ("\"expires_at\": \"2027-01-01T00:00:00+24:00\"", "expires_at: its offset +24:00 is past ±23:59"),
        ("\"expires_at\": \"9999-01-01T00:00:00Z\"", "expires_at: more than ten years ahead"),
        ("\"expires_at\": \"2026-01-01T24:00:00Z\"", "expires_at: 2026-01-01T24:00:00 is not a time of day"),
        ("\"expires_at\": \"2026-01-01T12:60:00Z\"", "expires_at: 2026-01-01T12:60:00 is not a time of day"),
        ("\"expires_at\": \"0001-01-01T00:00:00Z\"", "expires_at: 0001-01-01T00:00:00Z is before 1970"),
        ("\"secret_set_at\": \"1969-12-31T23:59:59Z\"", "secret_set_at: 1969-12-31T23:59:59Z is before 1970"),
    ])
    func badConnectionFactsAreNamed(_ extra: String, _ expected: String) throws {
        let text = Self.file.replacingOccurrences(of: "\"parent\": \"admin\"", with: extra)
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(text.utf8), source: "models.json")
        }
        #expect(error.description.hasPrefix("models.json: connections[0] (id \"child\"): \(expected)"))
    }

    @Test func aLeapSecondIsTheMomentAfterTheLastSecondOfTheMinute() throws {
        let leap = try #require(ImportFieldReader.parseRFC3339("2016-12-31T23:59:60Z"))
        #expect(leap == ImportFieldReader.parseRFC3339("2017-01-01T00:00:00Z"))
        #expect(ImportFieldReader.parseRFC3339("2016-12-31T23:58:60Z") == nil)
        #expect(ImportFieldReader.parseRFC3339("2016-12-31T23:59:59.5+23:59") != nil)
        #expect(ImportFieldReader.parseRFC3339("2016-12-31T23:59:59-24:00") == nil)
    }

    /// A fraction of many digits is the same second, to the millisecond: a dozen digits read as a second earlier,
    /// and moved an expiry of New Year's midnight into the year before.
    @Test(arguments: [
        ".123456789123", ".12345678912", ".123456789123456789123", ".9999999999999999999", ".1239", ".123",
    ])
    func aLongFractionKeepsItsSecond(fraction: String) throws {
        let date = try #require(ImportFieldReader.parseRFC3339("2030-01-01T00:00:00\(fraction)Z"))
        let midnight = try #require(ImportFieldReader.parseRFC3339("2030-01-01T00:00:00Z"))
        let milliseconds = Double(fraction.dropFirst().prefix(3))! / 1_000
        #expect(abs(date.timeIntervalSince(midnight) - milliseconds) < 0.000_5, "\(date)")
    }

    /// RFC 3339's letters may be lower case; nothing may follow the zone, and an offset has its colon.
    @Test func theZoneEndsTheTime() throws {
        #expect(ImportFieldReader.parseRFC3339("2030-01-01t00:00:00z") == ImportFieldReader.parseRFC3339("2030-01-01T00:00:00Z"))
        #expect(ImportFieldReader.parseRFC3339("2030-01-01T00:00:00.25z") != nil)
        for text in ["2030-01-01T12:00:00Z ", "2030-01-01T12:00:00+0100", "2030-01-01T12:00:00.Z", "2030-01-01 12:00:00Z"] {
            guard case .failure(let problem) = ImportFieldReader.checkRFC3339(text) else {
                Issue.record("\(text) was read")
                continue
            }
            #expect(problem.reason == "expected an RFC 3339 time, such as \"2030-01-31T12:00:00Z\"", "\(text)")
        }
    }

    @Test func leapDaysExistOnlyInLeapYears() {
        #expect(ImportFieldReader.parseRFC3339("2028-02-29T00:00:00Z") != nil)
        #expect(ImportFieldReader.parseRFC3339("2027-02-29T00:00:00Z") == nil)
        #expect(ImportFieldReader.parseRFC3339("2100-02-29T00:00:00Z") == nil)
        #expect(ImportFieldReader.parseRFC3339("2000-02-29T00:00:00Z") != nil)
    }
}
