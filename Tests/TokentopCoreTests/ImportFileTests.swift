import Foundation
import Testing

@testable import TokentopCore

@Suite struct ImportFileTests {
    /// A value or key that looks like a token, given where none belongs (a secret pasted into the wrong field), is
    /// not repeated in the error; a plain word is.
    @Test func aTokenInTheWrongPlaceIsNotRepeated() throws {
        let pasted = "ghp_FAKEfakeFAKEfake0091"
        for (text, shown) in [
            (Self.file(connections: [Self.alice("scope", "\"\(pasted)\"")]), "scope: unknown value (not repeated here"),
            ("{\"integrations\": [], \"\(pasted)\": 1}", "an unknown key (not repeated here: it looks like a token)"),
            (Self.file(connections: [Self.alice("scope", "\"galaxy\"")]), "scope: unknown value \"galaxy\""),
        ] {
            let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "f") }
            #expect(error.description.contains(shown), "\(error)")
            #expect(!error.description.contains(pasted), "\(error)")
        }
    }

    /// A secret of several lines (an app key's PEM, a private key) imports: line breaks may stand inside an
    /// imported secret, though not at its edges, and no other control character may.
    @Test func aSecretOfSeveralLinesImports() throws {
        let lines = "fake-line-one\\nfake-line-two\\r\\nfake-line-three"
        let bundle = try ImportFile.parse(
            Data(Self.file(connections: [Self.alice("access_token", "\"\(lines)\"")]).utf8), source: "ok.json")
        #expect(bundle.connections.first?.accessToken?.value == "fake-line-one\nfake-line-two\r\nfake-line-three")
        #expect(Secret.problem(with: "fake\nline") == .unsafeCharacter("\n"))
        #expect(Secret.problem(with: "fake\nline", lines: true) == nil)
        #expect(Secret.problem(with: "fake\u{7}line", lines: true) == .unsafeCharacter("\u{7}"))
    }

    /// The rule for secrets on printable ASCII, which a pass over the bytes settles, and around it.
    @Test func theSecretRuleOnPrintableASCIIAndBeyond() {
        let cases: [(String, Secret.TextProblem?)] = [
            ("fake-token-0001", nil), ("fake token 0001", nil), ("~!@#$%^&*()_+{}|:<>?", nil),
            (" fake-token", .whitespaceAtEdges), ("fake-token ", .whitespaceAtEdges), ("\tfake", .whitespaceAtEdges),
            ("   ", .blank), ("", .empty), ("fake\u{7F}token", .unsafeCharacter("\u{7F}")),
            ("fake\u{1B}[0m", .unsafeCharacter("\u{1B}")), ("fake-tök-0001", nil),
            ("fake\u{202E}0001", .unsafeCharacter("\u{202E}")), ("fake\u{A0}", .whitespaceAtEdges),
        ]
        for (text, expected) in cases {
            #expect(Secret.problem(with: text) == expected, "\(text.unicodeScalars.map(\.value))")
        }
    }

    static let integration = """
        {"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/oauth/token",
         "client_id": "fake-client-id", "client_secret": "fake-client-secret-0001"}
        """
    static let alice = """
        {"id": "acme-alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
         "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001"}
        """

    /// A file with the valid integration and the given connections.
    static func file(integrations: [String] = [integration], connections: [String]) -> String {
        "{\"integrations\": [\(integrations.joined(separator: ",\n"))],\n"
            + "\"connections\": [\(connections.joined(separator: ",\n"))]}"
    }

    /// The valid integration with its id replaced by the JSON text `opening` (`{"id": "other"`).
    static func integration(opening: String) -> String {
        integration.replacingOccurrences(of: #"{"id": "acme""#, with: opening)
    }

    /// The valid integration with `change` applied to its text.
    static func integration(_ change: (String) -> String) -> String { change(integration) }

    /// The valid connection `alice` with `field` replaced, or removed when `json` is nil.
    static func alice(_ field: String, _ json: String?) -> String {
        alice(replacing: [field: json])
    }

    static func alice(replacing fields: KeyValuePairs<String, String?>) -> String {
        var members: [(String, String)] = [
            ("id", "\"acme-alice\""), ("integration", "\"acme\""), ("scope", "\"user\""),
            ("subject", "\"alice@example.com\""), ("access_token", "\"fake-access-token-0001\""),
            ("refresh_token", "\"fake-refresh-token-0001\""),
        ]
        for (field, json) in fields {
            if let index = members.firstIndex(where: { $0.0 == field }) {
                if let json { members[index].1 = json } else { members.remove(at: index) }
            } else if let json {
                members.append((field, json))
            }
        }
        return "{" + members.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }

    // MARK: - A valid file

    @Test func aCompleteFileParsesIntoABundle() throws {
        let text = """
            {
              "integrations": [
                {"id": "acme", "provider": "acme", "token_url": "https://auth.acme.test/oauth/token",
                 "revocation_url": "https://auth.acme.test/oauth/revoke", "client_id": "fake-client-id",
                 "client_secret": "fake-client-secret-0001", "client_auth": "client_secret_post",
                 "scopes": ["read", "write"], "redirect_uri": "http://127.0.0.1:8765/callback"},
                {"id": "globex", "provider": "globex", "token_url": "http://127.0.0.1:9000/token",
                 "client_id": "fake-public-client", "client_auth": "none"}
              ],
              "connections": [
                {"id": "acme-alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
                 "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001",
                 "expires_at": "2030-01-31T12:00:00Z", "granted_scopes": ["read"]},
                {"integration": "acme", "scope": "bot", "subject": "Build Bot", "grant": "client_credentials",
                 "access_token": "fake-access-token-0002", "expires_in": 3600},
                {"integration": "globex", "scope": "org", "subject": "org-42", "credential": "api_key",
                 "secret": "fake-api-key-0003", "expires_at": null}
              ]
            }
            """
        let bundle = try ImportFile.parse(Data(text.utf8), source: "team.json")
        #expect(bundle.source == "team.json")
        #expect(
            bundle.integrations == [
                ImportBundle.IntegrationEntry(
                    integration: Integration(
                        id: "acme", provider: "acme", tokenURL: URL(string: "https://auth.acme.test/oauth/token")!,
                        revocationURL: URL(string: "https://auth.acme.test/oauth/revoke")!, clientID: "fake-client-id",
                        clientAuth: .clientSecretPost, scopes: ["read", "write"],
                        redirectURI: "http://127.0.0.1:8765/callback",
                        secretFingerprint: Secret("fake-client-secret-0001").fingerprint),
                    clientSecret: Secret("fake-client-secret-0001")),
                ImportBundle.IntegrationEntry(
                    integration: Integration(
                        id: "globex", provider: "globex", tokenURL: URL(string: "http://127.0.0.1:9000/token")!,
                        clientID: "fake-public-client", clientAuth: .none)),
            ])
        #expect(
            bundle.connections == [
                ImportBundle.ConnectionEntry(
                    id: "acme-alice", integrationID: "acme", scope: .user, subject: "alice@example.com",
                    grant: .refreshToken,
                    accessToken: Secret("fake-access-token-0001"), refreshToken: Secret("fake-refresh-token-0001"),
                    expiresAt: Date(timeIntervalSince1970: 1_896_091_200), grantedScopes: ["read"]),
                ImportBundle.ConnectionEntry(
                    id: "acme-build-bot", integrationID: "acme", scope: .bot, subject: "Build Bot",
                    grant: .clientCredentials, accessToken: Secret("fake-access-token-0002"), expiresIn: 3600,
                    idDerived: true),
                ImportBundle.ConnectionEntry(
                    id: "globex-org-42", integrationID: "globex", scope: .org, subject: "org-42", credential: .apiKey,
                    grant: .none, accessToken: Secret("fake-api-key-0003"), idDerived: true),
            ])
    }

    @Test func theDocumentedExampleParses() throws {
        let docs = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/import-format.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let bundle = try ImportFile.parse(Data(text[start.upperBound..<end.lowerBound].utf8), source: "example.json")
        #expect(bundle.integrations.map(\.integration.id) == ["acme", "globex"])
        #expect(bundle.connections.map(\.id) == ["acme-alice", "acme-build-bot", "globex-org-42"])
        #expect(bundle.connections.map(\.grant) == [.refreshToken, .clientCredentials, .none])
    }

    @Test func timesAcceptOffsetsAndFractions() throws {
        let text = Self.file(connections: [Self.alice("expires_at", "\"2030-01-31T13:00:00.250+01:00\"")])
        let bundle = try ImportFile.parse(Data(text.utf8), source: "t.json")
        #expect(bundle.connections.first?.expiresAt == Date(timeIntervalSince1970: 1_896_091_200.25))
    }

    @Test(arguments: [
        ("alice@example.com", "acme-alice-example-com"), ("  Org 42 ", "acme-org-42"), ("Zoë_Ø", "acme-zoë-ø"),
        ("@@@", ""),
    ])
    func defaultIDsAreSlugsOfTheSubject(_ subject: String, _ id: String) {
        #expect(ImportFile.defaultConnectionID(integration: "acme", subject: subject) == id)
    }

    /// A subject that spells an accent with a combining mark gives a composed (NFC) id, as every id is: byte for
    /// byte, since Swift's `==` takes the two spellings for one.
    @Test func aDefaultIDIsComposed() throws {
        let subject = "Zoe\u{308}@example.com"
        #expect(Array(ImportFile.defaultConnectionID(integration: "acme", subject: subject).utf8)
            == Array("acme-zo\u{EB}-example-com".utf8))
        let bundle = try ImportFile.parse(
            Data(Self.file(connections: [Self.alice(replacing: ["id": nil, "subject": #""Zoe\u0308@example.com""#])])
                .utf8),
            source: "ok.json")
        #expect(bundle.connections.map { Array($0.id.utf8) } == [Array("acme-zo\u{EB}-example-com".utf8)])
    }

    /// An id, or a reference to one, spelled with a combining mark (`e` and U+0301 for `é`) is refused, naming the
    /// entry and the field: the store compares ids by their bytes and Swift's strings canonically, so it would be a
    /// second row that every lookup takes for the first.
    @Test(arguments: [
        (file(connections: [alice("id", #""acme-alice\u0301""#)]), "connections[0] (id \"acme-alice\u{301}\"): id"),
        (
            file(integrations: [integration(opening: #"{"id": "acme\u0301""#)], connections: []),
            "integrations[0] (id \"acme\u{301}\"): id"
        ),
        (
            file(connections: [alice("integration", #""acme\u0301""#)]),
            "connections[0] (id \"acme-alice\"): integration"
        ),
        (file(connections: [alice("parent", #""acme-bo\u0301b""#)]), "connections[0] (id \"acme-alice\"): parent"),
    ])
    func anIdThatIsNotComposedIsRefused(text: String, entryAndField: String) throws {
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "bad.json") }
        #expect(error.description.hasPrefix("bad.json: \(entryAndField): "), "\(error.description)")
        #expect(error.description.contains("is not in Unicode's composed form (NFC)"), "\(error.description)")
    }

    // MARK: - Bad files

    struct BadFile: CustomTestStringConvertible, Sendable {
        let text: String
        let expected: String
        var testDescription: String { expected }
    }

    static let connectionKeys = """
        valid keys are id, integration, scope, subject, credential, grant, access_token, secret, refresh_token, \
        expires_at, expires_in, granted_scopes, parent, workspace, members, secret_set_at
        """

    static let badFiles: [BadFile] = [
        BadFile(
            text: #"{"fromat": "tokentop-export", "version": 1, "tables": {}}"#,
            expected: """
                bad.json: format: missing; this looks like a file written by `tokentop export` (it has "tables"), \
                which starts with "format": "tokentop-export"; this one lacks it or misspells it
                """),
        BadFile(
            text: "{\"connections\": [],}",
            expected: """
                bad.json: not valid JSON: line 1, column 20: expected a key in double quotes after ',' (JSON allows no \
                trailing comma)
                """),
        BadFile(
            text: "{\n  \"connections\": [],\n  \"connections\": []\n}",
            expected: """
                bad.json: not valid JSON: line 3, column 3: the key "connections" appears twice in one object
                """),
        BadFile(
            text: "{\"connections\": [{\"access_token\": \"fake-unterminated}]}",
            expected: """
                bad.json: not valid JSON: line 1, column 35: a string starting here is never closed
                """),
        BadFile(
            text: "{\"connections\": [{\"access_token\": fake-unquoted}]}",
            expected: """
                bad.json: not valid JSON: line 1, column 35: expected a value: a string in double quotes, a number, \
                true, false, null, [ or {
                """),
        BadFile(
            text: "[]",
            expected: """
                bad.json: expected a JSON object with "integrations" and "connections" arrays, found an array
                """),
        BadFile(text: "{}", expected: "bad.json: the file has no integrations and no connections to import"),
        BadFile(
            text: "{\"integration\": []}",
            expected: """
                bad.json: integration: unknown key; did you mean "integrations"? valid keys are integrations, connections
                """),
        BadFile(
            text: "{\"integrations\": {}}",
            expected: """
                bad.json: integrations: expected an array of objects, found an object
                """),
        BadFile(
            text: file(connections: [alice, "\"acme-bob\""]),
            expected: """
                bad.json: connections[1]: expected an object, found a string
                """),
        BadFile(
            text: file(
                integrations: [integration { $0.replacingOccurrences(of: "token_url", with: "tokn_url") }],
                connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): tokn_url: unknown key; did you mean "token_url"? valid keys are \
                id, provider, token_url, revocation_url, client_id, client_secret, client_auth, scopes, redirect_uri, \
                private_key, private_key_file, authorization_url, \
                device_authorization_url, api_key_in, api_key_name, probe_url, probe_interval, catalog_values, \
                audience, resource
                """),
        BadFile(
            text: file(
                integrations: [integration { $0.replacingOccurrences(of: "https://", with: "ftp://") }],
                connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): token_url: expected an http or https URL, found the scheme "ftp"
                """),
        BadFile(
            text: file(
                integrations: [integration { $0.replacingOccurrences(of: "https://", with: "") }],
                connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): token_url: expected an absolute http or https URL, such as \
                "https://auth.example.com/token"
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: "\"client_id\"", with: "\"revocation_url\": \"https:///revoke\", \"client_id\"")
                    }
                ],
                connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): revocation_url: expected a URL with a host name
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: "\"client_id\"", with: "\"client_auth\": \"jwt\", \"client_id\"")
                    }
                ], connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): client_auth: unknown value "jwt"; expected one of \
                client_secret_basic, client_secret_post, private_key_jwt, none
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: ", \"client_secret\": \"fake-client-secret-0001\"", with: "")
                    }
                ], connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): client_secret: missing; client_auth client_secret_basic needs a \
                client_secret (use "client_auth": "none" for a public client)
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: "\"client_id\"", with: "\"scopes\": \"read write\", \"client_id\"")
                    }
                ], connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): scopes: expected an array of strings, found a string
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: "\"client_id\"", with: "\"scopes\": [\"read\", 7], \"client_id\"")
                    }
                ], connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): scopes[1]: expected a non-empty string, found a number
                """),
        BadFile(
            text: file(
                integrations: [
                    integration {
                        $0.replacingOccurrences(
                            of: "\"provider\": \"acme\", ", with: "")
                    }
                ], connections: []),
            expected: """
                bad.json: integrations[0] (id "acme"): provider: missing; give the provider's name, for example "github"
                """),
        BadFile(
            text: file(integrations: [integration, integration], connections: []),
            expected: """
                bad.json: integrations[1] (id "acme"): id: "acme" is already used by integrations[0]
                """),
        BadFile(
            text: file(connections: [alice("scope", "\"team\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): scope: unknown value "team"; expected one of user, org, \
                delegated, workspace, bot
                """),
        BadFile(
            text: file(connections: [alice("scope", nil)]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): scope: missing; give one of user, org, delegated, workspace, \
                bot
                """),
        BadFile(
            text: file(connections: [alice("expires_at", "\"next tuesday\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires_at: expected an RFC 3339 time, such as \
                "2030-01-31T12:00:00Z"
                """),
        BadFile(
            text: file(connections: [alice("expires_at", "\"2030-01-31\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires_at: expected an RFC 3339 time, such as \
                "2030-01-31T12:00:00Z"
                """),
        BadFile(
            text: file(connections: [alice("expires_in", "\"3600\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires_in: expected a number, found a string
                """),
        BadFile(
            text: file(connections: [alice("expires_in", "-5")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires_in: expected seconds from now, 0 or more
                """),
        BadFile(
            text: file(connections: [
                alice(replacing: [
                    "expires_in": "60", "expires_at": "\"2030-01-31T12:00:00Z\"",
                ])
            ]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires_in: give expires_at or expires_in, not both
                """),
        BadFile(
            text: file(connections: [alice("subject", "\"  \"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): subject: must not be empty; give who the credential stands \
                for, such as an e-mail address
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["id": nil, "subject": "\"\""])]),
            expected: """
                bad.json: connections[0]: subject: must not be empty; give who the credential stands for, such as an \
                e-mail address
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["access_token": nil])]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: missing; an oauth2 connection needs its \
                access_token
                """),
        BadFile(
            text: file(connections: [
                alice(replacing: [
                    "access_token": nil, "refresh_token": nil, "credential": "\"basic\"",
                ])
            ]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: missing; a basic connection needs its secret \
                in access_token (or secret)
                """),
        BadFile(
            text: file(connections: [alice("access_token", "42")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: expected a string, found a number
                """),
        BadFile(
            text: file(connections: [alice("access_token", "\" fake-access-token-0001\\n\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: has spaces or line breaks at its start or end, \
                which a copy and paste often adds; remove them
                """),
        BadFile(
            text: file(connections: [alice("refresh_token", "\" \\t \"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): refresh_token: is only spaces or line breaks; give the \
                secret, or leave the key out
                """),
        BadFile(
            text: file(connections: [alice("access_token", "\"fake-access\\u0007token\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: contains the control or invisible \
                character U+0007; remove it
                """),
        BadFile(
            text: file(connections: [alice("id", "\"--help\"")]),
            expected: """
                bad.json: connections[0] (id "--help"): id: "--help" starts with "-", so tokentop's command line \
                would take it for an option; start it with a letter or digit
                """),
        BadFile(
            text: file(
                integrations: [integration { $0.replacingOccurrences(of: "\"id\": \"acme\"", with: "\"id\": \"-r\"") }],
                connections: [alice("integration", "\"-r\"")]),
            expected: """
                bad.json: integrations[0] (id "-r"): id: "-r" starts with "-", so tokentop's command line would \
                take it for an option; start it with a letter or digit
                """),
        BadFile(
            text: file(connections: [alice("secret", "\"fake-api-key-0001\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): secret: an oauth2 credential takes its token in access_token
                """),
        BadFile(
            text: file(connections: [alice("credential", "\"password\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): credential: unknown value "password"; expected one of \
                oauth2, api_key, basic, app_key, bot_token
                """),
        BadFile(
            text: file(connections: [alice("credential", "\"api_key\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): refresh_token: only an oauth2 credential has a refresh \
                token, not api_key
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["refresh_token": nil, "grant": "\"refresh_token\""])]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): refresh_token: missing; grant refresh_token needs a \
                refresh_token (or choose another grant, or "none")
                """),
        BadFile(
            text: file(connections: [alice("granted_scopes", #"["read", "  "]"#)]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): granted_scopes[1]: has no visible character, only \
                spaces or invisible format characters
                """),
        BadFile(
            text: file(connections: [alice("grant", "\"client_credentials\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): refresh_token: grant client_credentials renews without a \
                refresh token, so the refresh token would be stored and never used; leave it out, or choose grant \
                refresh_token
                """),
        BadFile(
            text: file(connections: [alice("grant", "\"none\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): refresh_token: grant none never renews the token, so the \
                refresh token would be stored and never used; leave it out, or choose grant refresh_token
                """),
        BadFile(
            text: file(connections: [alice("grant", "\"implicit\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): grant: unknown value "implicit"; expected one of \
                refresh_token, client_credentials, jwt_bearer, on_behalf_of, token_exchange, \
                github_app_installation, none
                """),
        BadFile(
            text: file(connections: [alice("id", "\"acme alice\"")]),
            expected: """
                bad.json: connections[0] (id "acme alice"): id: "acme alice" may contain only letters, digits and \
                . _ - @ : +
                """),
        BadFile(
            text: file(connections: [alice("integration", nil)]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): integration: missing; give the id of the connection's \
                integration
                """),
        BadFile(
            text: file(connections: [alice("expires", "60")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): expires: unknown key; \(connectionKeys)
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["tokne": "1", "scopes": "[]"])]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): unknown keys "tokne", "scopes"; \(connectionKeys)
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["id": nil, "granted_scopes": "\"read\""])]),
            expected: """
                bad.json: connections[0] (id "acme-alice-example-com"): granted_scopes: expected an array of strings, \
                found a string
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["id": nil]), alice(replacing: ["id": nil])]),
            expected: """
                bad.json: connections[1] (id "acme-alice-example-com"): id: "acme-alice-example-com" is already used by \
                connections[0]; give one of them an explicit "id"
                """),
        BadFile(
            text: file(connections: [alice, alice]),
            expected: """
                bad.json: connections[1] (id "acme-alice"): id: "acme-alice" is already used by connections[0]
                """),
        BadFile(
            text: file(connections: [alice("access_token", "\"fake-" + String(repeating: "t", count: 65_532) + "\"")]),
            expected: """
                bad.json: connections[0] (id "acme-alice"): access_token: is 65537 bytes long, more than the 64 KiB \
                any field may be
                """),
        BadFile(
            text: file(connections: [alice(replacing: ["id": nil, "subject": "\"@@@\""])]),
            expected: """
                bad.json: connections[0]: id: missing, and the subject has no letters or digits to derive one from; \
                give the connection an "id"
                """),
    ]

    @Test(arguments: badFiles)
    func aBadFileIsRefusedNamingTheFileEntryAndField(_ bad: BadFile) throws {
        let error = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(bad.text.utf8), source: "bad.json")
        }
        #expect(error.description == bad.expected)
        #expect(error.file == "bad.json")
        for secret in ["fake-access-token-0001", "fake-refresh-token-0001", "fake-client-secret-0001", "fake-api-key"] {
            #expect(!error.description.contains(secret))
        }
    }

    /// An id, key or value quoted back is cut to 80 characters, wherever the error comes from (a field over 64 KiB
    /// is refused by its length, without quoting it).
    @Test(arguments: [
        file(connections: [alice("id", "\"" + String(repeating: "a", count: 100_000) + "\"")]),
        file(connections: [alice("integration", "\"" + String(repeating: "b", count: 150) + "!\"")]),
        file(connections: [alice("scope", "\"" + String(repeating: "c", count: 60_000) + "\"")]),
        file(connections: [alice(String(repeating: "k", count: 100_000), "1")]),
    ])
    func longIdsAndValuesAreClippedInErrors(text: String) throws {
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "bad.json") }
        #expect(error.description.count < 600, "\(error.description.prefix(600))")
        #expect(error.description.contains(String(repeating: "…", count: 1)))
    }

    @Test func clippingKeepsShortTextAndCutsLongText() {
        #expect(ImportError.quoted("acme-alice") == "\"acme-alice\"")
        #expect(ImportError.clipped(String(repeating: "x", count: 80)) == String(repeating: "x", count: 80))
        #expect(ImportError.clipped(String(repeating: "x", count: 81)) == String(repeating: "x", count: 79) + "…")
        #expect(ImportError.clipped(String(repeating: "é", count: 81)).count == 80)
        #expect(ImportError.clipped("a\u{1b}[31m") == "a\u{FFFD}[31m")
    }

    /// A URL that carries credentials would be printed by `show` and logs: every URL field refuses it, naming the
    /// field, and never quotes the user or the password back.
    @Test(arguments: [
        "token_url", "revocation_url", "authorization_url", "device_authorization_url", "probe_url", "redirect_uri",
    ])
    func credentialsInAURLAreRefused(field: String) throws {
        for userInfo in ["fake-user:fake-pass-0001@", "fake-user@", ":fake-pass-0001@"] {
            let url = "http://\(userInfo)127.0.0.1:18777/oauth/x"
            let member = "\"\(field)\": \"\(url)\", \"provider\""
            let integration = Self.integration {
                field == "token_url"
                    ? $0.replacingOccurrences(of: "https://auth.acme.test/oauth/token", with: url)
                    : $0.replacingOccurrences(of: "\"provider\"", with: member)
            }
            let text = Self.file(integrations: [integration], connections: [Self.alice])
            let error = try #require(throws: ImportError.self, "\(field) with \(userInfo)") {
                try ImportFile.parse(Data(text.utf8), source: "creds.json")
            }
            #expect(error.file == "creds.json")
            #expect(error.entry == "integrations[0] (id \"acme\")")
            #expect(error.field == field)
            #expect(error.description.contains("carries credentials before the host"))
            #expect(error.description.contains("client_secret"))
            #expect(!error.description.contains("fake-pass-0001"))
            #expect(!error.description.contains("fake-user"))
        }
    }

    /// Credentials a browser finds where RFC 3986 sees a path: an http(s) URL with no slash, one, three, or
    /// backslashes before `user@host`. Every field that refuses `https://user@host` refuses these too, the same way.
    @Test(arguments: ["token_url", "probe_url", "redirect_uri", "resource"])
    func credentialsHoweverTheSlashesAreWrittenAreRefused(field: String) throws {
        for url in [
            "https:fake-user:fake-pass-0001@127.0.0.1/cb", "https:/fake-user:fake-pass-0001@127.0.0.1",
            "http:///fake-user@127.0.0.1/cb", #"https:\\fake-user:fake-pass-0001@127.0.0.1/cb"#,
            #"HTTPS:/\:fake-pass-0001@127.0.0.1?next=/"#, "https:fake-user@127.0.0.1?top",
        ] {
            let json = url.replacingOccurrences(of: #"\"#, with: #"\\"#)
            let integration = Self.integration {
                field == "token_url"
                    ? $0.replacingOccurrences(of: "https://auth.acme.test/oauth/token", with: json)
                    : $0.replacingOccurrences(of: "\"provider\"", with: "\"\(field)\": \"\(json)\", \"provider\"")
            }
            let text = Self.file(integrations: [integration], connections: [Self.alice])
            let error = try #require(throws: ImportError.self, "\(field) = \(url)") {
                try ImportFile.parse(Data(text.utf8), source: "creds.json")
            }
            #expect(error.entry == "integrations[0] (id \"acme\")")
            #expect(error.field == field)
            #expect(error.problem.hasPrefix("carries credentials before the host"), "\(url): \(error)")
            #expect(!error.description.contains("fake-pass-0001"))
            #expect(!error.description.contains("fake-user"))
        }
    }

    /// An `@` outside the authority is no credential: in a path, a query, a URN or a private-use redirect scheme.
    @Test func anAtOutsideTheAuthorityIsAccepted() throws {
        let integration = Self.integration {
            $0.replacingOccurrences(
                of: "\"provider\"",
                with: #""redirect_uri": "com.example.app:/oauth2/a@b", "resource": ["urn:example:team@orders", "#
                    + #""https:orders.example.test/v1@2", "https://orders.example.test/x?owner=a@b"], "provider""#)
        }
        let bundle = try ImportFile.parse(
            Data(Self.file(integrations: [integration], connections: [Self.alice]).utf8), source: "ok.json")
        let parsed = try #require(bundle.integrations.first?.integration)
        #expect(parsed.redirectURI == "com.example.app:/oauth2/a@b")
        #expect(
            parsed.resources == [
                "urn:example:team@orders", "https:orders.example.test/v1@2", "https://orders.example.test/x?owner=a@b",
            ])
    }

    /// What Foundation would send to another place than the one written, or that no server listens on.
    @Test(arguments: [
        ("http://[::1]:99999/token", "has the port 99999, which no server listens on (ports are 1 to 65535)"),
        ("https://auth.acme.test:0/token", "has the port 0, which no server listens on (ports are 1 to 65535)"),
        ("https://auth.acme.test/oauth/token#frag", "has a fragment (#…), which an endpoint URL must not have"),
        ("https://auth.acme.test/oauth/tok%zzen", "has a % not followed by two hexadecimal digits; write a literal % as %25"),
        ("https://auth.acme.test/oauth/tok%2", "has a % not followed by two hexadecimal digits; write a literal % as %25"),
        ("https://auth.acme.test/oauth/to ken", "contains a space or a line break; write a space in a path as %20"),
        // Written escaped for the JSON text: the URL holds one backslash.
        (#"https://auth.acme.test/oauth\\token"#, "has a backslash, which browsers and many HTTP libraries send as /; write it as %5C"),
        ("http://127.0.0.1:99999999999999999999/token", "has the port 999999999999, which no server listens on (ports are 1 to 65535)"),
    ])
    func aURLThatWouldBeSentElsewhereIsRefused(url: String, problem: String) throws {
        let text = Self.file(
            integrations: [Self.integration { $0.replacingOccurrences(of: "https://auth.acme.test/oauth/token", with: url) }],
            connections: [Self.alice])
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "u.json") }
        #expect(error.field == "token_url")
        #expect(error.problem == problem, "\(error)")
        // The redirect back from a sign-in too (RFC 6749 §3.1.2), for a loopback or an app's own scheme.
        let redirect = Self.file(
            integrations: [
                Self.integration {
                    $0.replacingOccurrences(of: "\"provider\"", with: "\"redirect_uri\": \"\(url)\", \"provider\"")
                }
            ], connections: [Self.alice])
        let refused = try #require(throws: ImportError.self) {
            try ImportFile.parse(Data(redirect.utf8), source: "u.json")
        }
        #expect(refused.field == "redirect_uri")
        #expect(refused.problem == problem, "\(refused)")
    }

    @Test func aRedirectURIWithAPortOrAnAppSchemeIsTaken() throws {
        for uri in ["http://127.0.0.1:8765/callback", "http://[::1]:8765/cb", "com.example.app:/oauth2redirect"] {
            let text = Self.file(
                integrations: [
                    Self.integration {
                        $0.replacingOccurrences(of: "\"provider\"", with: "\"redirect_uri\": \"\(uri)\", \"provider\"")
                    }
                ], connections: [Self.alice])
            let bundle = try ImportFile.parse(Data(text.utf8), source: "ok.json")
            #expect(bundle.integrations.first?.integration.redirectURI == uri)
        }
    }

    @Test func aURLWithoutCredentialsButWithAnAtInItsPathIsAccepted() throws {
        let text = Self.file(
            integrations: [
                Self.integration {
                    $0.replacingOccurrences(
                        of: "https://auth.acme.test/oauth/token", with: "https://auth.acme.test/oauth/token?u=a@b")
                }
            ], connections: [Self.alice])
        let bundle = try ImportFile.parse(Data(text.utf8), source: "ok.json")
        let url = try #require(bundle.integrations.first?.integration.tokenURL)
        #expect(url.absoluteString == "https://auth.acme.test/oauth/token?u=a@b")
    }

    @Test func aByteOrderMarkAndUnicodeEscapesAreAccepted() throws {
        let text = "\u{FEFF}" + Self.file(connections: [Self.alice("subject", "\"zo\\u00eb \\ud83d\\ude00\"")])
        let bundle = try ImportFile.parse(Data(text.utf8), source: "t.json")
        #expect(bundle.connections.first?.subject == "zoë 😀")
    }

    @Test func invalidUTF8IsRefused() throws {
        var data = Data("{\"connections\": [{\"subject\": \"".utf8)
        data.append(contentsOf: [0xC3, 0x28])
        data.append(Data("\"}]}".utf8))
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(data, source: "bad.json") }
        #expect(
            error.description
                == "bad.json: not valid JSON: line 1, column 30: a string starting here is not valid UTF-8")
    }
}
