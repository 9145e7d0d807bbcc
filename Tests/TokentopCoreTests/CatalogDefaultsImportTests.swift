import Foundation
import Testing

@testable import TokentopCore

/// An integration that names a catalog provider takes the endpoints it leaves out from the catalog.
@Suite struct CatalogDefaultsImportTests {
    static func parse(_ integration: String) throws -> Integration {
        let text = "{\"integrations\": [\(integration)]}"
        return try #require(try ImportFile.parse(Data(text.utf8), source: "cat.json").integrations.first).integration
    }

    static func failure(_ integration: String) -> String {
        let text = "{\"integrations\": [\(integration)]}"
        do {
            _ = try ImportFile.parse(Data(text.utf8), source: "cat.json")
            return "parsed"
        } catch {
            return "\(error)"
        }
    }

    @Test func aCatalogProviderNeedsOnlyItsClientCredentials() throws {
        let google = try Self.parse(
            #"{"id": "g", "provider": "google", "client_id": "fake-id", "client_secret": "fake-client-secret-0001"}"#)
        #expect(google.tokenURL.absoluteString == "https://oauth2.googleapis.com/token")
        #expect(google.revocationURL?.absoluteString == "https://oauth2.googleapis.com/revoke")
        #expect(google.deviceAuthorizationURL?.absoluteString == "https://oauth2.googleapis.com/device/code")
        #expect(google.authorizationURL?.absoluteString == "https://accounts.google.com/o/oauth2/v2/auth")
        #expect(google.clientAuth == .clientSecretPost)
    }

    @Test func whatTheFileGivesWinsOverTheCatalog() throws {
        let google = try Self.parse(
            #"{"id": "g", "provider": "google", "client_id": "fake-id", "client_secret": "fake-client-secret-0001", "#
                + #""token_url": "https://proxy.example.test/token", "client_auth": "client_secret_basic"}"#)
        #expect(google.tokenURL.absoluteString == "https://proxy.example.test/token")
        #expect(google.clientAuth == .clientSecretBasic)
        #expect(google.revocationURL?.absoluteString == "https://oauth2.googleapis.com/revoke")
    }

    @Test func placeholdersAreFilledFromCatalogValues() throws {
        let entra = try Self.parse(
            #"{"id": "m", "provider": "microsoft-entra", "client_id": "fake-id", "#
                + #""client_secret": "fake-client-secret-0001", "catalog_values": {"tenant": "contoso.example"}}"#)
        #expect(entra.tokenURL.absoluteString == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token")
        #expect(
            entra.deviceAuthorizationURL?.absoluteString
                == "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/devicecode")
        #expect(entra.revocationURL == nil)
    }

    @Test(arguments: [
        (
            #"{"id": "m", "provider": "microsoft-entra", "client_id": "x", "client_secret": "fake-client-secret-0001"}"#,
            #"cat.json: integrations[0] (id "m"): token_url: missing; the catalog's microsoft-entra endpoint "#
                + #"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token needs "tenant" in catalog_values, "#
                + "or give token_url itself"
        ),
        (
            #"{"id": "m", "provider": "microsoft-entra", "client_id": "x", "client_secret": "fake-client-secret-0001", "#
                + #""catalog_values": {"tennant": "contoso"}}"#,
            #"cat.json: integrations[0] (id "m"): catalog_values: microsoft-entra's endpoints have no {tennant}; "#
                + "it has tenant"
        ),
        (
            #"{"id": "m", "provider": "microsoft-entra", "client_id": "x", "client_secret": "fake-client-secret-0001", "#
                + #""catalog_values": {"tenant": "evil.example/x?"}}"#,
            #"cat.json: integrations[0] (id "m"): catalog_values: tenant: expected letters, digits, '-', '.' or '_'"#
        ),
        (
            #"{"id": "a", "provider": "acme", "client_id": "x", "client_secret": "fake-client-secret-0001"}"#,
            #"cat.json: integrations[0] (id "a"): token_url: missing; give the provider's token endpoint ("acme" "#
                + "is not in the provider catalog, see tokentop providers)"
        ),
        (
            #"{"id": "a", "provider": "acme", "client_id": "x", "client_secret": "fake-client-secret-0001", "#
                + #""token_url": "https://a.test/t", "catalog_values": {"tenant": "t"}}"#,
            #"cat.json: integrations[0] (id "a"): catalog_values: "acme" is not in the provider catalog, so it has "#
                + "nothing to fill in"
        ),
    ])
    func catalogMistakesAreNamed(_ integration: String, _ expected: String) {
        #expect(Self.failure(integration) == expected)
    }
}
