import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// An edited export with a value tokentop could not show is refused by the reader, naming table, row and column,
/// before anything is written: the values that once crashed `show` and the dashboard, and their neighbours.
@Suite struct ExportValueCheckTests {
    @Test(arguments: [
        ("connections", 0, "expires_at", "1e300", "(id \"acme-alice\"): expires_at: expected seconds since 1970"),
        ("connections", 0, "retry_at", "1e19", "(id \"acme-alice\"): retry_at: expected seconds since 1970"),
        ("connections", 1, "secret_set_at", "1e19", "(id \"acme-bot\"): secret_set_at: expected seconds since 1970"),
        ("connections", 0, "issued_at", "-1e300", "issued_at: expected seconds since 1970"),
        ("connections", 0, "created_at", "\"2030-01-01\"", "created_at: expected seconds since 1970"),
        ("connections", 0, "failures", "-1", "failures: expected a whole number from 0 to 2^53, found -1"),
        ("connections", 0, "failures", "\"many\"", "failures: expected a whole number from 0 to 2^53, found a string"),
        ("connections", 0, "failures", "1e300", "failures: expected a whole number from 0 to 2^53, found 1e+300"),
        ("connections", 0, "failures", "1.5", "failures: expected a whole number from 0 to 2^53, found 1.5"),
        ("connections", 0, "generation", "-3", "generation: expected a whole number"),
        ("connections", 0, "revoked_at_provider", "2", "revoked_at_provider: expected 0 or 1, found 2"),
        (
            "connections", 0, "subject", "\"alice\\u001b[31m@example.com\"",
            "subject: contains the control or invisible character U+001B"
        ),
        ("connections", 0, "subject", "7", "subject: expected a string, found 7"),
        (
            "connections", 0, "integration_id", "\"ghost\"",
            "integration_id: names \"ghost\", which is not in tables.integrations"
        ),
        ("integrations", 0, "probe_interval", "-5", "(id \"acme\"): probe_interval: expected seconds between 60"),
        (
            "history", 0, "connection_id", "\"ghost\"",
            "tables.history[0] (id 1): connection_id: names \"ghost\", which is not in tables.connections"
        ),
        ("history", 0, "at", "1e300", "tables.history[0] (id 1): at: expected seconds since 1970"),
        ("history", 0, "id", "-1", "id: expected a whole number from 0 to 2^53, found -1"),
        // What the history reader would refuse only after the restore wrote every row.
        ("history", 0, "kind", "\"exploded\"", "tables.history[0] (id 1): kind: unknown value \"exploded\""),
        ("history", 0, "error", "\"{not json\"", "error: is not an error as tokentop records one"),
        (
            "history", 0, "message", "\"\(String(repeating: "m", count: 65_537))\"",
            "message: is 65537 bytes long, more than the 64 KiB any field may be"
        ),
        ("audit", 0, "seq", "-1", "tables.audit[0] (seq -1): seq: expected a whole number"),
        // The import file's rules of meaning, which a second tester found the export path lacked.
        ("connections", 0, "parent_id", "\"acme-alice\"", "parent_id: a connection cannot be its own parent"),
        ("connections", 0, "scope", "\"god\"", "scope: unknown value \"god\""),
        ("connections", 0, "subject", "\"   \"", "subject: must not be empty"),
        ("connections", 0, "members", "\"[1,2]\"", "members: expected a JSON array of strings"),
        // Entries are held to an import file's rules: none blank, a member no longer than an address.
        ("connections", 0, "members", #""[\"  \"]""#, "members[0]: has no visible character"),
        ("connections", 0, "members", #""[\"\#(String(repeating: "m", count: 321))\"]""#,
            "members[0]: is longer than 320 characters"),
        ("integrations", 0, "scopes", #""[\"read\",\"\"]""#, "scopes[1]: has no visible character"),
        ("connections", 0, "refresh_token", "null", "refresh_token: missing, though refresh_fingerprint says"),
        ("integrations", 0, "token_url", "\"http://fakeuser:fakepass@127.0.0.1/x\"", "token_url: carries credentials"),
        ("integrations", 0, "token_url", "\"ftp://x/\"", "token_url: expected an http or https URL"),
        // Credentials a browser reads where RFC 3986 sees a path, in a URL column and in the resources list.
        ("integrations", 0, "token_url", "\"https:fakeuser:fakepass@127.0.0.1/x\"", "token_url: carries credentials"),
        ("integrations", 0, "redirect_uri", #""http:/fakeuser@127.0.0.1/cb""#, "redirect_uri: carries credentials"),
        ("integrations", 0, "resources", #""[\"https:fakeuser@127.0.0.1\"]""#, "resources[0]: carries credentials"),
        // Ids and references to them in Unicode's composed form (NFC), as an import file's: the store compares bytes.
        ("integrations", 0, "id", #""acme\u0301""#, "id: \"acme\u{301}\" is not in Unicode's composed form (NFC)"),
        ("connections", 0, "id", #""acme-alice\u0301""#, "id: \"acme-alice\u{301}\" is not in Unicode's composed"),
        ("connections", 0, "integration_id", #""acme\u0301""#, "integration_id: \"acme\u{301}\" is not in Unicode"),
        ("connections", 0, "parent_id", #""acme-bo\u0301b""#, "parent_id: \"acme-bo\u{301}b\" is not in Unicode"),
        ("history", 0, "connection_id", #""acme-alice\u0301""#, "connection_id: \"acme-alice\u{301}\" is not in"),
    ])
    func anOutOfRangeValueIsRefusedAndNothingIsWritten(
        table: String, row: Int, column: String, json: String, message: String
    ) throws {
        let directory = try StoreTemporaryDirectory()
        let (file, _) = try Self.editedExport(in: directory, table: table) { rows in
            rows[row][column] = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        }

        try Self.expectRefusedAndNothingWritten(file, in: directory) { error in
            error.hasPrefix("\(file): tables.\(table)[\(row)]") && error.contains(message)
        }
    }

    /// A row holding what an import file refuses in the same field is refused by the restore, with the import's
    /// message, naming the table, the row and the field (the list entry, for a list), and nothing is written.
    @Test(arguments: [
        // A resource is an absolute URI without a fragment (RFC 8707 §2), as an import's `resource` is.
        ("integrations", 0, "resources", #""[\"api.acme.test/orders\"]""#, "resources[0]: expected an absolute URI"),
        ("integrations", 0, "resources", #""[\"https://api.acme.test/#x\"]""#, "resources[0]: expected an absolute"),
        ("integrations", 0, "audiences", #""[\"api orders\"]""#, "audiences[0]: must not contain spaces"),
        // A list column holds the JSON array itself: a byte order mark before its [ is refused.
        ("integrations", 0, "scopes", #""\ufeff[\"read\"]""#, "scopes: starts with a byte order mark (U+FEFF)"),
        ("connections", 0, "members", #""\ufeff[\"a@example.com\"]""#, "members: starts with a byte order mark"),
        ("connections", 0, "granted_scopes", #""\ufeff[\"read\"]""#, "granted_scopes: starts with a byte order"),
        ("connections", 0, "granted_scopes", #"" [\"read\"]""#, "granted_scopes: expected a JSON array of strings"),
        // A subject is at most 320 characters; a workspace at most 200, with a visible one.
        ("connections", 0, "subject", "\"\(String(repeating: "s", count: 400))\"", "subject: is longer than 320"),
        ("connections", 0, "workspace", #""   ""#, "workspace: has no visible character"),
        ("connections", 0, "workspace", #""\u200d\u2060""#, "workspace: has no visible character"),
        ("connections", 0, "workspace", #""""#, "workspace: must not be empty"),
        ("connections", 0, "workspace", "\"\(String(repeating: "w", count: 201))\"", "workspace: is longer than 200"),
        // A scope the integration asks for is one OAuth scope token (RFC 6749 §3.3).
        ("integrations", 0, "scopes", #""[\"read write\"]""#, "scopes[0]: contains a space, and an OAuth scope is"),
        ("integrations", 0, "scopes", #""[\"read\",\"a\\\\b\"]""#, "scopes[1]: contains a backslash"),
        // The rest of an integration's and a connection's fields, as an import holds them.
        ("integrations", 0, "provider", #""  ""#, "provider: must not be empty"),
        ("integrations", 0, "client_id", #""  ""#, "client_id: must not be empty"),
        ("integrations", 0, "api_key_in", #""body""#, "api_key_in: unknown value \"body\"; expected one of header"),
        ("integrations", 0, "api_key_in", #""header""#, "api_key_name: missing; api_key_in needs"),
        ("integrations", 0, "api_key_name", #""X-API-Key""#, "api_key_in: missing"),
        ("integrations", 0, "probe_interval", "600", "probe_interval: given without a probe_url to check"),
        ("integrations", 0, "probe_interval", #""600""#, "probe_interval: expected a number of seconds"),
        ("connections", 0, "credential", #""api_key""#, "grant_kind: api_key credentials are static"),
    ])
    func aValueAnImportRefusesIsRefusedByTheRestore(
        table: String, row: Int, column: String, json: String, message: String
    ) throws {
        try anOutOfRangeValueIsRefusedAndNothingIsWritten(
            table: table, row: row, column: column, json: json, message: message)
    }

    /// A secret set later than the restore's clock, beyond the clock skew an import allows, is refused by the
    /// import's rule with the import's message, and nothing is written; one within the skew restores.
    @Test(arguments: [(240.0, true), (360.0, false), (86_400.0 * 365 * 4, false)] as [(Double, Bool)])
    func aSecretSetInTheFutureIsRefusedAsAnImportRefusesIt(ahead: Double, accepted: Bool) throws {
        let directory = try StoreTemporaryDirectory()
        // Whole seconds, which the edited JSON carries exactly.
        let setAt = Date(timeIntervalSince1970: (StoreExportTests.later.timeIntervalSince1970 + ahead).rounded())
        let (file, _) = try Self.editedExport(in: directory, table: "connections") { rows in
            rows[1]["secret_set_at"] = setAt.timeIntervalSince1970
        }
        guard !accepted else {
            let target = directory.file("target.sqlite3")
            _ = try ImportFile.run(
                path: file, openStore: StoreExportTests.openTarget(target), user: "tester", at: StoreExportTests.later)
            let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key), create: false)
            #expect(try restored.connection(id: "acme-bot")?.secretSetAt == setAt)
            return
        }
        let expected =
            "\(file): tables.connections[1] (id \"acme-bot\"): secret_set_at: \(RFC3339.string(from: setAt)) is in "
            + "the future; give when the secret was set (at most 5 minutes ahead of this machine's clock, for clock "
            + "skew); nothing was imported"
        try Self.expectRefusedAndNothingWritten(file, in: directory) { $0 == expected }
    }

    /// An export of the fixture store with the rows of `table` changed by `edit`, written as edited.json; returns
    /// its path and the edited rows.
    static func editedExport(
        in directory: StoreTemporaryDirectory, table: String, edit: (inout [[String: Any]]) throws -> Void
    ) throws -> (file: String, rows: [[String: Any]]) {
        let good = directory.file("store.json")
        _ = try StoreExport.run(
            store: try StoreExportTests.source(directory), to: good, user: "tester", at: StoreExportTests.later)
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: good))) as? [String: Any])
        var tables = try #require(document["tables"] as? [String: Any])
        var rows = try #require(tables[table] as? [[String: Any]])
        try edit(&rows)
        tables[table] = rows
        document["tables"] = tables
        let file = directory.file("edited.json")
        try JSONSerialization.data(withJSONObject: document).write(to: URL(fileURLWithPath: file))
        return (file, rows)
    }

    /// Restoring `file` into a new file and into an existing empty store fails as `matches` says, and leaves no new
    /// file and the empty store as it was.
    static func expectRefusedAndNothingWritten(
        _ file: String, in directory: StoreTemporaryDirectory, matches: @escaping (String) -> Bool
    ) throws {
        let target = directory.file("target.sqlite3")
        let empty = directory.file("empty.sqlite3")
        _ = try Store.open(path: empty, secrets: SecretBox(key: StoreFixtures.key))
        for location in [target, empty] {
            #expect {
                try ImportFile.run(
                    path: file, openStore: StoreExportTests.openTarget(location), user: "tester",
                    at: StoreExportTests.later)
            } throws: { error in
                matches("\(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        let store = try Store.open(path: empty, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try store.connections().isEmpty && store.integrations().isEmpty)
        #expect(try store.recentHistory(limit: 10).isEmpty)
    }

    /// A row whose key another row of its table already has is refused by the reader with both positions, not by
    /// the database's bare UNIQUE constraint (nor, for meta's upsert, silently), and nothing is written.
    @Test(arguments: [
        ("integrations", "id"), ("connections", "id"), ("history", "id"), ("audit", "seq"), ("meta", "name"),
    ])
    func aKeyTwiceInOneTableIsRefusedWithBothRows(table: String, key: String) throws {
        let directory = try StoreTemporaryDirectory()
        let (file, rows) = try Self.editedExport(in: directory, table: table) { rows in
            try #require(!rows.isEmpty)
            rows.append(rows[0])
        }

        let shown = try #require(
            (rows[0][key] as? String).map { "\"\($0)\"" } ?? (rows[0][key] as? Int).map { "\($0)" })
        let second = "tables.\(table)[\(rows.count - 1)]"
        let expected =
            "\(file): \(second) (\(key) \(shown)): \(key): \(shown) is already used by tables.\(table)[0]; each "
            + "\(key) appears once in a table"
        try Self.expectRefusedAndNothingWritten(file, in: directory) { $0 == expected }
    }

    /// An app's own redirect scheme (RFC 8252 §7.1), which an import takes, leaves in an export that restores: the
    /// reader applies the import's redirect rule, not the http-only rule of the endpoints.
    @Test(arguments: ["com.example.app:/oauth2redirect", "http://127.0.0.1:8765/cb"])
    func aRedirectTheImportTookRestores(redirect: String) throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Store.open(path: directory.file("source.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        var entry = StoreFixtures.integration()
        entry.integration.redirectURI = redirect
        _ = try store.importBundle(
            ImportBundle(source: "fixture.json", integrations: [entry], connections: [StoreFixtures.connection()]),
            at: StoreFixtures.epoch)
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: store, to: file, user: "tester", at: StoreExportTests.later)
        let target = directory.file("target.sqlite3")
        _ = try ImportFile.run(
            path: file, openStore: StoreExportTests.openTarget(target), user: "tester", at: StoreExportTests.later)
        let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key))
        #expect(try restored.integrations().map(\.redirectURI) == [redirect])
    }

    /// The same export, unedited, still restores: the checks refuse nothing tokentop itself wrote.
    @Test func anUneditedExportStillRestores() throws {
        let directory = try StoreTemporaryDirectory()
        let good = directory.file("store.json")
        _ = try StoreExport.run(
            store: try StoreExportTests.source(directory), to: good, user: "tester", at: StoreExportTests.later)
        let summary = try ImportFile.run(
            path: good, openStore: StoreExportTests.openTarget(directory.file("target.sqlite3")), user: "tester",
            at: StoreExportTests.later)
        #expect("\(summary)".contains("2 connections"))
    }
}
