import Foundation
import Testing

/// `tokentop export` and `tokentop import` of the export, through the binary: a whole store moves to another
/// database, no secret shows on the way, and the moved store works.
struct ExportCommandTests {
    static let secrets = [
        "fake-client-secret-0001", "fake-access-token-0001", "fake-refresh-token-0001", "fake-api-key-0001",
    ]

    static func contents(_ path: String) throws -> String {
        try [path, path + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }.map {
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: $0)), as: UTF8.self)
        }.joined()
    }

    /// A database in `sandbox` holding the command-line tests' import file.
    static func importedSource(_ sandbox: Sandbox) throws -> String {
        let source = sandbox.root.appendingPathComponent("source.sqlite3").path
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file, "--db", source], environment: sandbox.environment).status == 0)
        return source
    }

    @Test func exportThenImportMovesTheStoreAndShowsNoSecret() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let source = try Self.importedSource(sandbox)
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        // The token endpoint is a closed port: the refresh fails, and the failure is part of what moves.
        #expect(try Binary.run(["refresh", "acme-alice", "--db", source], environment: env).status == 1)

        let export = sandbox.root.appendingPathComponent("store.json").path
        let exported = try Binary.run(["export", export, "--db", source], environment: env)
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.contains("exported \(source) to \(export): 1 integration, 2 connections"))
        let mode = try FileManager.default.attributesOfItem(atPath: export)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let imported = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("whole store restored: 1 integration, 2 connections"), "\(imported.stdout)")

        let listed = try [source, target].map { try Binary.run(["list", "--json", "--db", $0], environment: env) }
        #expect(listed[0].status == 0 && listed[1].status == 0)
        #expect(listed[0].stdout == listed[1].stdout)
        #expect(listed[1].stdout.contains("\"failures\":1"), "\(listed[1].stdout)")
        let shown = try Binary.run(["show", "acme-alice", "--db", target], environment: env)
        #expect(shown.status == 0 && shown.stdout.contains("refresh_failed"), "\(shown.stderr)")
        #expect(try Binary.run(["audit", "--verify", "--db", target], environment: env).status == 0)

        // The moved store refreshes with the moved secrets; the closed port is a recorded failure, not a crash.
        let refreshed = try Binary.run(["refresh", "acme-alice", "--db", target], environment: env)
        #expect(refreshed.status == 1)
        #expect(refreshed.stderr.contains("acme-alice: refresh failed"), "\(refreshed.stdout)\(refreshed.stderr)")
        let after = try Binary.run(["list", "--json", "--db", target], environment: env).stdout
        #expect(after.contains("\"failures\":2"), "\(after)")
        #expect(try Binary.run(["audit", "--verify", "--db", target], environment: env).status == 0)

        // To standard output: the document alone there, the summary on stderr.
        let piped = try Binary.run(["export", "--db", target], environment: env)
        #expect(piped.status == 0)
        #expect(piped.stdout.hasPrefix("{\n\"format\":\"tokentop-export\""))
        #expect(piped.stderr.contains("to standard output"))
        #expect(try JSONSerialization.jsonObject(with: piped.output) is [String: Any])

        let audit = try Binary.run(["audit", "--db", source], environment: env).stdout
        #expect(audit.contains("export  \(export)  ok"), "\(audit)")
        for secret in Self.secrets {
            for (name, text) in [
                ("the export", try Self.contents(export)), ("the target", try Self.contents(target)),
                ("standard output", piped.stdout),
            ] {
                #expect(!text.contains(secret), "\(name) shows \(secret)")
            }
        }
    }

    /// A revoked connection keeps its fingerprints without its tokens; its export is restored as it is.
    @Test func aStoreWithARevokedConnectionIsRestored() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let source = try Self.importedSource(sandbox)
        #expect(try Binary.run(["revoke", "acme-alice", "--db", source], environment: env).status == 0)
        let export = sandbox.root.appendingPathComponent("store.json").path
        #expect(try Binary.run(["export", export, "--db", source], environment: env).status == 0)
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        let imported = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(imported.status == 0, "\(imported.stderr)")
        let shown = try [source, target].map { try Binary.run(["show", "acme-alice", "--json", "--db", $0], environment: env) }
        #expect(shown[0].stdout == shown[1].stdout)
        #expect(shown[1].stdout.contains("\"status\":\"revoked\""), "\(shown[1].stdout)")
        #expect(try Binary.run(["audit", "--verify", "--db", target], environment: env).status == 0)
    }

    /// Every store an import made is restored: a list (6,000 scopes, 1,000 members of 300 characters) is held to
    /// what an import takes of each entry, not the whole list to one field's 64 KiB (it was refused at 84,001 bytes).
    @Test func aStoreWithLongListsIsRestored() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let scopes = (0..<6_000).map { "\"scope.read.\($0)\"" }.joined(separator: ",")
        let members = (0..<1_000).map { "\"member-\($0)-" + String(repeating: "m", count: 280) + "@example.com\"" }
            .joined(separator: ",")
        let file = try sandbox.write(
            "wide.json",
            """
            {"integrations": [{"id": "wide", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
              "client_id": "fake-client", "client_auth": "none", "scopes": [\(scopes)]}],
             "connections": [{"id": "wide-space", "integration": "wide", "scope": "workspace", "subject": "team:wide",
              "access_token": "fake-access-token-wide-0001", "workspace": "wide", "members": [\(members)]}]}
            """)
        let source = sandbox.root.appendingPathComponent("source.sqlite3").path
        let first = try Binary.run(["import", file, "--db", source], environment: env)
        #expect(first.status == 0, "\(first.stderr)")
        let export = sandbox.root.appendingPathComponent("store.json").path
        #expect(try Binary.run(["export", export, "--db", source], environment: env).status == 0)
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        let restored = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(restored.status == 0, "\(restored.stderr)")
        let shown = try [source, target].map {
            try Binary.run(["show", "wide-space", "--json", "--db", $0], environment: env).stdout
        }
        // Compared, not quoted: each is some 300 KB.
        #expect(shown[0] == shown[1], "the restored connection differs")
        #expect(shown[1].contains("member-999-"), "\(shown[1].prefix(400))")
    }

    /// Short relative names, which Foundation's path methods trap on, are names like any other.
    @Test func oneLetterNamesAreTakenAndTheCurrentDirectoryIsRefused() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        _ = try sandbox.write("i", CommandLineTests.importFile)
        func run(_ arguments: [String], key: String = "") throws -> Binary.Run {
            var environment = sandbox.environment
            environment["TOKENTOP_KEY"] = key
            return try Binary.run(executable: Binary.path, arguments, environment: environment, directory: sandbox.root)
        }
        let imported = try run(["import", "i", "--db", "d"])
        #expect(imported.status == 0, "\(imported.stderr)")
        let exported = try run(["export", "e", "--db", "d"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try run(["import", "e", "--db", "r"]).status == 0)
        // An empty file (a `touch`) takes a whole store, as it takes an import file.
        _ = try sandbox.write("z", "")
        let restored = try run(["import", "e", "--db", "z"])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try run(["list", "--db", "z"]).stdout.contains("acme-alice"))
        // A restore that fails into an empty file leaves it empty.
        _ = try sandbox.write("y", "")
        let otherKey = Data(repeating: 7, count: 32).base64EncodedString()
        let refused = try run(["import", "e", "--db", "y"], key: otherKey)
        #expect(refused.status == 1, "\(refused.stdout)")
        let left = try FileManager.default.attributesOfItem(atPath: sandbox.root.appendingPathComponent("y").path)
        #expect(left[.size] as? Int == 0, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("y-wal").path))
        for name in [".", "./"] {
            let refused = try run(["export", name, "--db", "d"])
            #expect(refused.status == 1, "\(name)")
            #expect(
                refused.stderr == "tokentop: \(name) is not a regular file (a directory, a device, a pipe or a link); name a file "
                    + "for the export, or - for standard output; nothing was written\n", "\(refused.stderr)")
        }
    }

    @Test func aGarbledOrForeignExportIsRefusedAndNothingIsWritten() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let source = try Self.importedSource(sandbox)
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        let document = try Binary.run(["export", "-", "--db", source], environment: env).stdout

        let cut = try sandbox.write("cut.json", String(document.prefix(document.count * 2 / 3)))
        let truncated = try Binary.run(["import", cut, "--db", target], environment: env)
        #expect(truncated.status == 1)
        #expect(truncated.stderr.contains("\(cut): not valid JSON"), "\(truncated.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))

        var other = env
        other["TOKENTOP_KEY"] = Data(repeating: 3, count: 32).base64EncodedString()
        let whole = try sandbox.write("whole.json", document)
        let foreign = try Binary.run(["import", whole, "--db", target], environment: other)
        #expect(foreign.status == 1)
        #expect(foreign.stderr.contains("the export was sealed with another key"), "\(foreign.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))

        // With no key at all: the key the restore would make up opens nothing, and goes with the new store.
        var keyless = env
        keyless["XDG_CONFIG_HOME"] = sandbox.root.appendingPathComponent("other-config").path
        let missingKey = sandbox.root.appendingPathComponent("other-config/tokentop/key").path
        let unkeyed = try Binary.run(["import", whole, "--db", target], environment: keyless)
        #expect(unkeyed.status == 1)
        #expect(
            unkeyed.stderr.contains(
                "the export was sealed with another key; use the same TOKENTOP_KEY or key file as the source "
                    + "(\(source)); this tokentop had no key (TOKENTOP_KEY is unset, and the key file at "
                    + "\(missingKey) was made just now); nothing was written"), "\(unkeyed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        // The key file it made stays: another process may have sealed a store with it meanwhile.
        #expect(FileManager.default.fileExists(atPath: missingKey))

        // Into the store it came from: it holds connections already.
        let occupied = try Binary.run(["import", whole, "--db", source], environment: env)
        #expect(occupied.status == 1)
        #expect(occupied.stderr.contains("already holds 2 connections"), "\(occupied.stderr)")
    }

    /// A full disk or a device in place of the file is an error, never a finished export; the demo never seeds a
    /// store it was not made for; a URL of another scheme creates nothing.
    @Test func writesThatCannotFinishFailAndNothingLandsWhereItShouldNot() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let source = try Self.importedSource(sandbox)
        let full = try Binary.run(["export", "--db", source], environment: env, stdout: "/dev/full")
        #expect(full.status == 1)
        #expect(full.stderr.contains("cannot write the export to standard output (No space left on device)"))
        let fifo = sandbox.root.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let piped = try Binary.run(["export", fifo, "--db", source], environment: env)
        #expect(piped.status == 1)
        #expect(piped.stderr.contains("is not a regular file"))
        let audit = try Binary.run(["audit", "--db", source], environment: env).stdout
        let failedExports = audit.split(separator: "\n").filter { $0.contains(" export ") && $0.contains("failed") }
        #expect(failedExports.count == 2, "\(audit)")

        let demo = try Binary.run(["demo", "--store", "postgres://tokentop@127.0.0.1:9/x"], environment: env)
        #expect(demo.status != 0)
        var other = env
        other["TOKENTOP_STORE"] = "mysql://u:fake-pw-0002@127.0.0.1/y"
        let typo = try Binary.run(["list"], environment: other)
        #expect(typo.status == 1)
        #expect(typo.stderr.contains("mysql://u@127.0.0.1/y is not a PostgreSQL URL"))
        #expect(!typo.stderr.contains("fake-pw-0002"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.root.appendingPathComponent("mysql:").path))
    }

    /// A mistyped export file name must not destroy the key (every sealed secret with it), the database, or any
    /// other file; only an earlier export is replaced.
    @Test func exportReplacesOnlyAnEarlierExport() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let source = try Self.importedSource(sandbox)
        let key = sandbox.root.appendingPathComponent("config/tokentop/key").path
        let notes = try sandbox.write("notes.txt", "not an export\n")
        let refused: [(path: String, message: String)] = [
            (key, "refusing to replace \(key): it is the key file"),
            (source, "refusing to replace \(source): it is the database being exported"),
            (source + "-wal", "refusing to replace \(source)-wal: it is a file of the database being exported"),
            (notes, "refusing to replace \(notes): it exists and is not an export tokentop wrote"),
        ]
        for (path, message) in refused {
            let before = try? Data(contentsOf: URL(fileURLWithPath: path))
            let result = try Binary.run(["export", path, "--db", source], environment: env)
            #expect(result.status == 1, "\(path)")
            #expect(
                result.stderr.contains(message) && result.stderr.contains("nothing was written"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            // The store itself changes by one audit entry: the refused export is recorded there.
            if !path.hasPrefix(source) {
                #expect((try? Data(contentsOf: URL(fileURLWithPath: path))) == before, "\(path) changed")
            }
        }
        // The key and the store still work, and each refusal is in the audit log.
        #expect(try Binary.run(["show", "acme-alice", "--db", source], environment: env).status == 0)
        #expect(try Binary.run(["audit", "--verify", "--db", source], environment: env).status == 0)
        let audit = try Binary.run(["audit", "--db", source], environment: env).stdout
        #expect(audit.split(separator: "\n").filter { $0.contains(" export ") && $0.contains("failed") }.count == 4)
        // The log names the files as the operator named them: a path is not masked as if it were a token.
        for (_, message) in refused { #expect(audit.contains(message), "\(audit)") }
        let folder = sandbox.root.appendingPathComponent("no-such-folder").path
        let lost = try Binary.run(["export", folder + "/export.json", "--db", source], environment: env)
        #expect(lost.status == 1)
        let logged = try Binary.run(["audit", "--db", source], environment: env).stdout
        #expect(
            logged.contains(
                "cannot write the export \(folder)/export.json (cannot create \(folder)/.export.json."),
            "\(logged)")
        #expect(!logged.contains("[masked]"), "\(logged)")

        let export = sandbox.root.appendingPathComponent("store.json").path
        #expect(try Binary.run(["export", export, "--db", source], environment: env).status == 0)
        let again = try Binary.run(["export", export, "--db", source], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let target = sandbox.root.appendingPathComponent("target.sqlite3").path
        let imported = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(imported.status == 0, "\(imported.stderr)")
    }
}
