import Foundation
import Testing

@testable import TokentopCore

/// Importing derived connections: on-behalf-of and token exchange need a parent that holds OAuth 2.0 tokens, and
/// a token exchange's integration may name the services its token is for.
@Suite struct DelegationImportTests {
    static let file = """
        {"integrations": [
          {"id": "entra", "provider": "microsoft", "token_url": "https://login.entra.test/tenant/oauth2/v2.0/token",
           "client_id": "fake-middle-tier", "client_secret": "fake-client-secret-0001",
           "client_auth": "client_secret_post",
           "scopes": ["https://graph.microsoft.com/.default"]},
          {"id": "sts", "provider": "okta", "token_url": "https://sts.example.test/oauth2/v1/token",
           "client_id": "fake-exchanger", "client_secret": "fake-client-secret-0002",
           "audience": "api://orders", "resource": ["https://orders.example.test", "https://billing.example.test"]}
        ],
        "connections": [
          {"id": "obo-bob", "integration": "entra", "scope": "delegated", "subject": "bob@example.com",
           "grant": "on_behalf_of", "parent": "admin"},
          {"id": "tx-bob", "integration": "sts", "scope": "delegated", "subject": "bob@example.com",
           "grant": "token_exchange", "parent": "admin"},
          {"id": "admin", "integration": "entra", "scope": "delegated", "subject": "admin@example.com",
           "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001", "expires_in": 3600},
          {"id": "key", "integration": "sts", "scope": "org", "subject": "org:example",
           "credential": "api_key", "secret": "fake-api-key-0003"}
        ]}
        """

    static func open() throws -> (Store, StoreTemporaryDirectory) {
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("db.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        return (store, directory)
    }

    @Test func derivedGrantsNeedNoTokenAndKeepTheirParentAndTargets() throws {
        let bundle = try ImportFile.parse(Data(Self.file.utf8), source: "derived.json")
        let (store, directory) = try Self.open()
        defer { _ = directory }
        _ = try store.importBundle(bundle, at: StoreFixtures.epoch)

        let obo = try #require(try store.connection(id: "obo-bob"))
        #expect(obo.grant == .onBehalfOf)
        #expect(obo.parentID == "admin")
        #expect(obo.accessFingerprint == nil)
        #expect(obo.isRenewable)
        // Minted at once, like the other grants that need no token to start with.
        #expect(RefreshPolicy.standard.dueAt(obo) == StoreFixtures.epoch)
        let exchange = try #require(try store.connection(id: "tx-bob"))
        #expect(exchange.grant == .tokenExchange)

        let sts = try #require(try store.integrations().first { $0.id == "sts" })
        #expect(sts.audiences == ["api://orders"])
        #expect(sts.resources == ["https://orders.example.test", "https://billing.example.test"])
        let entra = try #require(try store.integrations().first { $0.id == "entra" })
        #expect(entra.audiences.isEmpty && entra.resources.isEmpty)
    }

    @Test(arguments: [GrantKind.onBehalfOf, .tokenExchange])
    func aDerivedGrantWithoutAParentIsRefused(_ grant: GrantKind) throws {
        let text = Self.file.replacingOccurrences(
            of: "\"grant\": \"\(grant.rawValue)\", \"parent\": \"admin\"", with: "\"grant\": \"\(grant.rawValue)\"")
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(text.utf8), source: "derived.json")
        }
        let index = grant == .onBehalfOf ? 0 : 1
        let token = grant == .onBehalfOf ? "assertion" : "subject_token"
        #expect(
            error.description.hasPrefix(
                "derived.json: connections[\(index)] (id \"\(grant == .onBehalfOf ? "obo-bob" : "tx-bob")\"): parent: "
                    + "missing; grant \(grant.rawValue) needs the id of the connection whose access token is sent as "
                    + "the \(token)"))
    }

    @Test func aParentWithAStaticCredentialIsRefusedAndNothingIsWritten() throws {
        let text = Self.file.replacingOccurrences(
            of: "\"grant\": \"token_exchange\", \"parent\": \"admin\"",
            with: "\"grant\": \"token_exchange\", \"parent\": \"key\"")
        let bundle = try ImportFile.parse(Data(text.utf8), source: "derived.json")
        let (store, directory) = try Self.open()
        defer { _ = directory }
        let error = try #require(throws: ImportError.self) { try store.importBundle(bundle, at: StoreFixtures.epoch) }
        #expect(
            error.description
                == "derived.json: connections[1] (id \"tx-bob\"): parent: \"key\" holds an api_key credential, not an "
                + "OAuth 2.0 access token for token_exchange to exchange")
        #expect(try store.connections().isEmpty)
    }

    @Test func reImportingAParentAsAStaticCredentialIsRefusedWhileADerivedChildIsStored() throws {
        let first = """
            {"integrations": [{"id": "entra", "provider": "microsoft", "token_url": "https://login.entra.test/token",
              "client_id": "fake-middle-tier", "client_secret": "fake-client-secret-0001"}],
            "connections": [
              {"id": "p", "integration": "entra", "scope": "user", "subject": "admin@example.com",
               "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001"},
              {"id": "a", "integration": "entra", "scope": "delegated", "subject": "bob@example.com",
               "grant": "on_behalf_of", "parent": "p"}]}
            """
        let second = """
            {"connections": [{"id": "p", "integration": "entra", "scope": "user", "subject": "admin@example.com",
              "credential": "api_key", "secret": "fake-api-key-0005"}]}
            """
        let (store, directory) = try Self.open()
        defer { _ = directory }
        _ = try store.importBundle(try ImportFile.parse(Data(first.utf8), source: "one.json"), at: StoreFixtures.epoch)
        let bundle = try ImportFile.parse(Data(second.utf8), source: "two.json")
        let error = try #require(throws: ImportError.self) {
            try store.importBundle(bundle, at: StoreFixtures.epoch.addingTimeInterval(60))
        }
        #expect(
            error.description
                == "two.json: connections[0] (id \"p\"): credential: \"p\" holds an api_key credential, not an OAuth "
                + "2.0 access token for on_behalf_of to exchange; connection \"a\" derives its token from it: "
                + "remove or re-parent \"a\" first")
        // Nothing written: the parent keeps its OAuth 2.0 tokens and only the first import is in its history.
        let parent = try #require(try store.connection(id: "p"))
        #expect(parent.credential == .oauth2)
        #expect(parent.accessFingerprint == Secret("fake-access-token-0001").fingerprint)
        #expect(try store.history(connectionID: "p", limit: 10).map(\.message) == ["imported from one.json"])
    }

    @Test(arguments: [
        ("\"audience\": \"\"", "audience: must not be empty"),
        ("\"audience\": [\"a b\"]", "audience[0]: must not contain spaces"),
        ("\"audience\": 3", "audience: expected an array of strings, found a number"),
        ("\"resource\": \"orders\"", "resource: expected an absolute URI without a fragment"),
        ("\"resource\": [\"https://a.test/#x\"]", "resource[0]: expected an absolute URI without a fragment"),
    ])
    func badExchangeTargetsAreNamed(_ replacement: String, _ expected: String) throws {
        let targets =
            "\"audience\": \"api://orders\", \"resource\": [\"https://orders.example.test\", "
            + "\"https://billing.example.test\"]"
        let text = Self.file.replacingOccurrences(of: targets, with: replacement)
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(text.utf8), source: "derived.json")
        }
        #expect(error.description.hasPrefix("derived.json: integrations[1] (id \"sts\"): \(expected)"), "\(error)")
    }

    @Test func aDerivedGrantOnAStaticCredentialIsRefused() throws {
        let text = Self.file.replacingOccurrences(
            of: "\"grant\": \"on_behalf_of\", \"parent\": \"admin\"",
            with: "\"grant\": \"on_behalf_of\", \"parent\": \"admin\", \"credential\": \"bot_token\", "
                + "\"secret\": \"fake-bot-token-0004\"")
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(text.utf8), source: "derived.json")
        }
        #expect(error.description.contains("grant: bot_token credentials are static; their grant is none"))
    }
}
