import Foundation
import Testing

/// Reading commands never create the key file: only import (and the dashboard, the daemon and the demo) do, for a
/// store that holds no secret yet.
struct MissingKeyCommandTests {
    static func keyFile(_ sandbox: Sandbox) -> String {
        sandbox.root.appendingPathComponent("config/tokentop/key").path
    }

    /// Whatever is in the configuration directory: no key file, no key file in the making.
    static func configFiles(_ sandbox: Sandbox) -> [String] {
        let directory = sandbox.root.appendingPathComponent("config/tokentop").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    static let reading: [[String]] = [
        ["list"], ["list", "--json"], ["show", "acme-alice"], ["status"], ["audit"], ["audit", "--verify"],
        ["config"], ["providers"], ["export"],
    ]

    @Test func readingCommandsCreateNoKeyWhereNoStoreExists() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        for command in Self.reading {
            _ = try Binary.run(command, environment: sandbox.environment)
            #expect(Self.configFiles(sandbox) == [], "\(command)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }

    @Test func aStoreWithoutSecretsIsReadWithoutAKey() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        #expect(try Binary.run(["migrate"], environment: sandbox.environment).status == 0)
        let status = try Binary.run(["status"], environment: sandbox.environment)
        #expect(status.status == 0)
        #expect(status.stdout == "OK: 0 connections: no connections\n")
        let list = try Binary.run(["list", "--json"], environment: sandbox.environment)
        #expect(list.status == 0)
        #expect(list.stdout == "[]\n")
        let audit = try Binary.run(["audit", "--verify"], environment: sandbox.environment)
        #expect(audit.status == 0)
        #expect(audit.stdout == "audit log intact: 0 entries\n")
        let export = try Binary.run(["export"], environment: sandbox.environment)
        #expect(export.status == 1)
        #expect(
            export.stderr == "tokentop: cannot export \(sandbox.database): no key exists yet (TOKENTOP_KEY is unset "
                + "and there is no key file at \(Self.keyFile(sandbox))), so the store holds no secret and no key "
                + "check to bind an export to; import into it first, or set TOKENTOP_KEY to its key; nothing was "
                + "written\n")
        #expect(export.stdout.isEmpty)
        #expect(Self.configFiles(sandbox) == [])
        // The first import makes the key, and binds the store to it.
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        #expect(Self.configFiles(sandbox) == ["key"])
        let mode = try FileManager.default.attributesOfItem(atPath: Self.keyFile(sandbox))[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aStoreWithSecretsAndNoKeyIsOneClearErrorAndCreatesNothing() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let kept = sandbox.root.appendingPathComponent("key.kept").path
        try FileManager.default.moveItem(atPath: Self.keyFile(sandbox), toPath: kept)
        let before = try Data(contentsOf: URL(fileURLWithPath: sandbox.database))
        let expected =
            "tokentop: no key to open the secrets of \(sandbox.database): TOKENTOP_KEY is unset or empty and there is no key "
            + "file at \(Self.keyFile(sandbox)); set TOKENTOP_KEY to the key the store was created with, or put its "
            + "key file back (mode 0600); nothing was created\n"
        let commands =
            Self.reading.filter { !["config", "providers"].contains($0[0]) }
            + [["refresh", "acme-alice"], ["revoke", "acme-alice"], ["rekey"], ["import", file]]
        for command in commands {
            let run = try Binary.run(command, environment: sandbox.environment)
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr == expected, "\(command)")
            #expect(run.stdout.isEmpty, "\(command)")
            #expect(Self.configFiles(sandbox) == [], "\(command)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.database)) == before, "the store is unchanged")
        // With its key back, everything reads as before.
        try FileManager.default.moveItem(atPath: kept, toPath: Self.keyFile(sandbox))
        let list = try Binary.run(["list"], environment: sandbox.environment)
        #expect(list.status == 0)
        #expect(list.stdout.contains("acme-alice"))
    }
}
