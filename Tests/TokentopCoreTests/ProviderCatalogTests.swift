import Foundation
import Testing

@testable import TokentopCore

/// One fact the catalog must hold, checked against the provider's documentation by hand.
struct KnownFact: Sendable, CustomTestStringConvertible {
    let id: String
    let field: String
    let expected: String?
    let read: @Sendable (ProviderProfile) -> String?

    var testDescription: String { "\(id).\(field) == \(expected ?? "nil")" }
}

/// A mutation that makes a valid entry invalid, and where the error must point.
struct BadEntry: Sendable, CustomTestStringConvertible {
    let name: String
    let field: String
    let problem: String
    let mutate: @Sendable (inout [String: Any]) -> Void

    var testDescription: String { name }
}

@Suite struct ProviderCatalogTests {
    static let knownFacts: [KnownFact] = [
        KnownFact(id: "github-oauth-app", field: "form_encoded_unless_accept_json", expected: "true") {
            String($0.quirks.formEncodedUnlessAcceptJSON)
        },
        KnownFact(id: "github-app", field: "form_encoded_unless_accept_json", expected: "true") {
            String($0.quirks.formEncodedUnlessAcceptJSON)
        },
        KnownFact(id: "github-app", field: "refresh_token_absolute_lifetime_seconds", expected: "15811200") {
            $0.refreshTokenAbsoluteLifetime.map(String.init)
        },
        KnownFact(id: "github-app", field: "default_access_token_lifetime_seconds", expected: "28800") {
            $0.defaultAccessTokenLifetime.map(String.init)
        },
        KnownFact(id: "github-app", field: "refresh_token_rotates", expected: "true") {
            $0.refreshTokenRotates.map { String($0) }
        },
        KnownFact(id: "google", field: "revocation_url", expected: "https://oauth2.googleapis.com/revoke") {
            $0.revocationURL
        },
        KnownFact(
            id: "google", field: "device_authorization_url", expected: "https://oauth2.googleapis.com/device/code"
        ) {
            $0.deviceAuthorizationURL
        },
        KnownFact(id: "google", field: "token_url", expected: "https://oauth2.googleapis.com/token") { $0.tokenURL },
        KnownFact(id: "slack", field: "errors_with_http_200", expected: "true") { String($0.quirks.errorsWithHTTP200) },
        KnownFact(id: "slack", field: "client_auth[0]", expected: "client_secret_basic") {
            $0.defaultClientAuth?.rawValue
        },
        KnownFact(id: "discord", field: "revocation_url", expected: "https://discord.com/api/oauth2/token/revoke") {
            $0.revocationURL
        },
        KnownFact(id: "discord", field: "default_access_token_lifetime_seconds", expected: "604800") {
            $0.defaultAccessTokenLifetime.map(String.init)
        },
        KnownFact(id: "atlassian", field: "refresh_token_idle_lifetime_seconds", expected: "7776000") {
            $0.refreshTokenIdleLifetime.map(String.init)
        },
        KnownFact(id: "atlassian", field: "refresh_token_absolute_lifetime_seconds", expected: "31536000") {
            $0.refreshTokenAbsoluteLifetime.map(String.init)
        },
        KnownFact(id: "box", field: "refresh_token_idle_lifetime_seconds", expected: "5184000") {
            $0.refreshTokenIdleLifetime.map(String.init)
        },
        KnownFact(id: "calendly", field: "rotation_grace_seconds", expected: nil) { $0.rotationGrace.map(String.init) },
        KnownFact(id: "calendly", field: "refresh_token_rotates", expected: "true") {
            $0.refreshTokenRotates.map { String($0) }
        },
        KnownFact(id: "gitlab", field: "default_access_token_lifetime_seconds", expected: "7200") {
            $0.defaultAccessTokenLifetime.map(String.init)
        },
        KnownFact(id: "microsoft-entra", field: "revocation_url", expected: nil) { $0.revocationURL },
        KnownFact(id: "linkedin", field: "default_access_token_lifetime_seconds", expected: "5184000") {
            $0.defaultAccessTokenLifetime.map(String.init)
        },
        KnownFact(id: "zoom", field: "refresh_token_rotates", expected: "true") {
            $0.refreshTokenRotates.map { String($0) }
        },
        KnownFact(id: "intuit-quickbooks", field: "default_access_token_lifetime_seconds", expected: "3600") {
            $0.defaultAccessTokenLifetime.map(String.init)
        },
        KnownFact(id: "intuit-quickbooks", field: "refresh_token_idle_lifetime_seconds", expected: "8640000") {
            $0.refreshTokenIdleLifetime.map(String.init)
        },
        KnownFact(id: "auth0", field: "device_authorization_url", expected: "https://{yourDomain}/oauth/device/code") {
            $0.deviceAuthorizationURL
        },
        KnownFact(id: "atlassian", field: "rotation_grace_seconds", expected: nil) {
            $0.rotationGrace.map(String.init)
        },
        KnownFact(id: "notion", field: "revocation_url", expected: nil) { $0.revocationURL },
    ]

    static let badEntries: [BadEntry] = [
        BadEntry(name: "plain http token URL", field: "token_url", problem: "https") {
            $0["token_url"] = "http://auth.example.com/token"
        },
        BadEntry(name: "key with a typo", field: "tokn_url", problem: "unknown key") { $0["tokn_url"] = "x" },
        BadEntry(name: "missing sources", field: "sources", problem: "missing") { $0["sources"] = nil },
        BadEntry(name: "no sources", field: "sources", problem: "non-empty") { $0["sources"] = [String]() },
        BadEntry(name: "source over http", field: "sources[0]", problem: "https") {
            $0["sources"] = ["http://docs.example.com/oauth"]
        },
        BadEntry(name: "unknown grant", field: "grants[1]", problem: "unknown value") {
            $0["grants"] = ["refresh_token", "password"]
        },
        BadEntry(name: "grant twice", field: "grants[1]", problem: "twice") {
            $0["grants"] = ["refresh_token", "refresh_token"]
        },
        BadEntry(name: "unknown identity model", field: "identity_models[0]", problem: "unknown value") {
            $0["identity_models"] = ["tenant"]
        },
        BadEntry(name: "null fact without notes", field: "notes", problem: "refresh_token_rotates is null") {
            $0["refresh_token_rotates"] = NSNull()
            $0["notes"] = NSNull()
        },
        BadEntry(name: "negative lifetime", field: "refresh_token_idle_lifetime_seconds", problem: "whole number") {
            $0["refresh_token_idle_lifetime_seconds"] = -5
        },
        BadEntry(name: "fractional lifetime", field: "rotation_grace_seconds", problem: "whole number") {
            $0["rotation_grace_seconds"] = 2.5
        },
        BadEntry(name: "lifetime as text", field: "default_access_token_lifetime_seconds", problem: "found a string") {
            $0["default_access_token_lifetime_seconds"] = "3600"
        },
        BadEntry(name: "empty client_auth", field: "client_auth", problem: "must not be empty") {
            $0["client_auth"] = [String]()
        },
        BadEntry(name: "unknown client auth", field: "client_auth[0]", problem: "client_secret_basic") {
            $0["client_auth"] = ["tls_client_auth"]
        },
        BadEntry(name: "id not a slug", field: "id", problem: "slug") { $0["id"] = "Acme CRM" },
        BadEntry(name: "rotation as text", field: "refresh_token_rotates", problem: "true, false or null") {
            $0["refresh_token_rotates"] = "yes"
        },
        BadEntry(name: "quirk missing", field: "quirks.errors_with_http_200", problem: "true or false") {
            $0["quirks"] = ["form_encoded_unless_accept_json": false, "non_rfc_error_shape": NSNull()]
        },
        BadEntry(name: "empty placeholder", field: "revocation_url", problem: "placeholder") {
            $0["revocation_url"] = "https://{}/revoke"
        },
    ]

    /// A valid entry whose every fact is documented, so that each mutation breaks exactly one thing.
    static func validEntry(id: String = "acme") -> [String: Any] {
        [
            "id": id, "name": "Acme", "token_url": "https://auth.acme.example/oauth/token",
            "revocation_url": "https://auth.acme.example/oauth/revoke",
            "device_authorization_url": "https://{region}.acme.example/device",
            "authorization_url": "https://auth.acme.example/authorize", "client_auth": ["client_secret_basic"],
            "refresh_token_rotates": true, "refresh_token_idle_lifetime_seconds": 86400,
            "refresh_token_absolute_lifetime_seconds": 864000, "rotation_grace_seconds": 30,
            "default_access_token_lifetime_seconds": 3600,
            "quirks": [
                "errors_with_http_200": false, "form_encoded_unless_accept_json": false,
                "non_rfc_error_shape": NSNull(),
            ] as [String: Any],
            "grants": ["refresh_token"], "identity_models": ["user"], "sources": ["https://docs.acme.example/oauth"],
            "notes": NSNull(),
        ]
    }

    static func document(_ entries: [[String: Any]]) throws -> Data {
        try JSONSerialization.data(withJSONObject: ["format": 1, "providers": entries])
    }

    static func decodeError(_ data: Data) -> ProviderCatalogError? {
        do {
            _ = try ProviderCatalog.decode(data, source: "test.json")
            return nil
        } catch {
            return error
        }
    }

    // MARK: - The embedded catalog

    @Test func embeddedCatalogLoadsWithAtLeast25UniqueProviders() throws {
        let catalog = try ProviderCatalog.embedded()
        #expect(catalog.providers.count >= 25)
        #expect(Set(catalog.ids).count == catalog.providers.count)
        #expect(catalog.profile(id: "github-app")?.name == "GitHub (GitHub App)")
        #expect(catalog["no-such-provider"] == nil)
    }

    @Test func everyEndpointIsHTTPSOnceItsPlaceholdersAreFilled() throws {
        for profile in try ProviderCatalog.embedded().providers {
            let values = Dictionary(uniqueKeysWithValues: profile.placeholders.map { ($0, "example") })
            let templates = [
                profile.tokenURL, profile.revocationURL, profile.deviceAuthorizationURL, profile.authorizationURL,
            ].compactMap { $0 }
            for template in templates {
                let url = ProviderProfile.url(template, values: values)
                #expect(url?.scheme == "https", "\(profile.id): \(template)")
            }
        }
    }

    @Test func everyProviderCitesAtLeastOneHTTPSSource() throws {
        for profile in try ProviderCatalog.embedded().providers {
            #expect(!profile.sources.isEmpty, "\(profile.id)")
            #expect(profile.sources.allSatisfy { $0.scheme == "https" }, "\(profile.id)")
        }
    }

    @Test func everyUndocumentedFactIsExplainedInTheNotes() throws {
        for profile in try ProviderCatalog.embedded().providers {
            let hasNullFact =
                profile.revocationURL == nil || profile.deviceAuthorizationURL == nil
                || profile.authorizationURL == nil || profile.clientAuth == nil || profile.refreshTokenRotates == nil
                || profile.refreshTokenIdleLifetime == nil || profile.refreshTokenAbsoluteLifetime == nil
                || profile.rotationGrace == nil || profile.defaultAccessTokenLifetime == nil
            if hasNullFact { #expect(profile.notes?.isEmpty == false, "\(profile.id)") }
        }
    }

    @Test(arguments: knownFacts) func holdsAVerifiedFact(_ fact: KnownFact) throws {
        let profile = try #require(try ProviderCatalog.embedded().profile(id: fact.id))
        #expect(fact.read(profile) == fact.expected)
    }

    @Test func tenantPlaceholdersResolveOnlyWithAValue() throws {
        let entra = try #require(try ProviderCatalog.embedded().profile(id: "microsoft-entra"))
        #expect(entra.placeholders == ["tenant"])
        #expect(ProviderProfile.url(entra.tokenURL) == nil)
        #expect(
            ProviderProfile.url(entra.tokenURL, values: ["tenant": "common"])?.absoluteString
                == "https://login.microsoftonline.com/common/oauth2/v2.0/token")
    }

    // MARK: - Validation

    @Test func aValidEntryDecodesEveryField() throws {
        let catalog = try ProviderCatalog.decode(try Self.document([Self.validEntry()]), source: "test.json")
        let acme = try #require(catalog.profile(id: "acme"))
        #expect(acme.clientAuth == [.clientSecretBasic])
        #expect(acme.refreshTokenRotates == true)
        #expect(acme.refreshTokenIdleLifetime == 86400)
        #expect(acme.refreshTokenAbsoluteLifetime == 864000)
        #expect(acme.rotationGrace == 30)
        #expect(acme.defaultAccessTokenLifetime == 3600)
        #expect(acme.grants == [.refreshToken])
        #expect(acme.identityModels == [.user])
        #expect(acme.placeholders == ["region"])
        #expect(acme.sources.map(\.absoluteString) == ["https://docs.acme.example/oauth"])
        #expect(acme.notes == nil)
    }

    @Test(arguments: badEntries) func rejectsABadEntryNamingTheEntryAndField(_ bad: BadEntry) throws {
        var entry = Self.validEntry()
        bad.mutate(&entry)
        let error = try #require(Self.decodeError(try Self.document([Self.validEntry(id: "fine"), entry])))
        #expect(error.source == "test.json")
        #expect(error.entry?.hasPrefix("providers[1]") == true)
        #expect(error.field == bad.field)
        #expect(error.problem.contains(bad.problem), "\(error)")
    }

    @Test func rejectsARepeatedID() throws {
        let error = try #require(Self.decodeError(try Self.document([Self.validEntry(), Self.validEntry()])))
        #expect(
            error.description
                == "test.json: providers[1] (id \"acme\"): id: repeats the id of providers[0]; ids must be unique")
    }

    @Test func rejectsTextThatIsNotJSONOrNotACatalog() throws {
        let broken = try #require(Self.decodeError(Data("{\"format\": 1, \"providers\": [".utf8)))
        #expect(broken.problem.hasPrefix("not JSON at line 1"))
        let wrongFormat = try #require(Self.decodeError(Data("{\"format\": 2, \"providers\": []}".utf8)))
        #expect(wrongFormat.field == "format")
        let notObject = try #require(Self.decodeError(Data("[1]".utf8)))
        #expect(notObject.entry == nil)
        let entryNotObject = try #require(Self.decodeError(Data("{\"format\": 1, \"providers\": [42]}".utf8)))
        #expect(entryNotObject.entry == "providers[0]")
    }

    // MARK: - Reports

    @Test func tableHasAHeaderAndOneAlignedRowPerProvider() throws {
        let catalog = try ProviderCatalog.embedded()
        let lines = catalog.reportTable().split(separator: "\n").map(String.init)
        #expect(lines.count == catalog.providers.count + 1)
        #expect(lines[0].hasPrefix("ID "))
        for column in ["NAME", "GRANTS", "ROTATION", "REVOCATION", "DEVICE"] { #expect(lines[0].contains(column)) }
        let nameColumn = lines[0].range(of: "NAME")!.lowerBound.utf16Offset(in: lines[0])
        let google = try #require(lines.first { $0.hasPrefix("google ") })
        #expect(google.utf16.count > nameColumn)
        #expect(google.hasSuffix("yes"))
        #expect(google.contains("refresh_token,device_code"))
        #expect(google.contains("unknown"))
        let slack = try #require(lines.first { $0.hasPrefix("slack ") })
        #expect(slack.contains("rotates"))
        #expect(slack.hasSuffix("unknown"))
    }

    /// A null endpoint is a fact the docs do not state, so the table says `unknown`, never `no`; the JSON says null.
    @Test func endpointTheCatalogDoesNotKnowReadsUnknown() throws {
        let catalog = try ProviderCatalog.embedded()
        let lines = catalog.reportTable().split(separator: "\n").map(String.init)
        let header = lines[0]
        let revocationColumn = header.distance(
            from: header.startIndex, to: header.range(of: "REVOCATION")!.lowerBound)
        let deviceColumn = header.distance(from: header.startIndex, to: header.range(of: "DEVICE")!.lowerBound)
        func cells(_ id: String) throws -> (revocation: String, device: String) {
            let line = Array(try #require(lines.first { $0.hasPrefix(id + " ") }))
            let trim = { (text: ArraySlice<Character>) in String(text).trimmingCharacters(in: .whitespaces) }
            return (trim(line[revocationColumn..<deviceColumn]), trim(line[deviceColumn...]))
        }
        // Microsoft documents a device endpoint and no RFC 7009 one; Salesforce the other way round.
        #expect(try cells("microsoft-entra") == ("unknown", "yes"))
        #expect(try cells("salesforce") == ("yes", "unknown"))
        #expect(try cells("google") == ("yes", "yes"))
        #expect(try cells("slack") == ("unknown", "unknown"))
        for profile in catalog.providers {
            let revocation = profile.revocationURL == nil ? "unknown" : "yes"
            let device = profile.deviceAuthorizationURL == nil ? "unknown" : "yes"
            #expect(try cells(profile.id) == (revocation, device), "\(profile.id)")
        }
        let array = try #require(
            try JSONSerialization.jsonObject(with: Data(catalog.reportJSON().utf8)) as? [[String: Any]])
        let entra = try #require(array.first { $0["id"] as? String == "microsoft-entra" })
        #expect(entra["revocation_url"] is NSNull)
        #expect(entra["device_authorization_url"] as? String != nil)
    }

    @Test func jsonReportRoundTripsThroughTheCatalogReader() throws {
        let catalog = try ProviderCatalog.embedded()
        let json = catalog.reportJSON()
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(array.count == catalog.providers.count)
        #expect(Set(array[0].keys) == Set(ProviderProfileReader.keys))
        let again = try ProviderCatalog.decode(try Self.document(array), source: "report.json")
        #expect(again.providers == catalog.providers)
        #expect(catalog.reportJSON() == json)
    }
}
