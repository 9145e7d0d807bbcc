import Foundation
import Testing
import TokentopTestSupport

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

    /// Several imports started at once into a new store, with no key file yet: one of them makes the key, and the
    /// others use it, even those that looked for the key file before it existed and into the store after the first
    /// secret was sealed there. Before, they failed with "there is no key file at …" while it was there.
    @Test func importsStartedTogetherIntoANewStoreShareTheKeyOneOfThemMakes() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in sandbox.environment { environment[name] = value }
        for round in 1...4 {
            let database = sandbox.root.appendingPathComponent("new-\(round).sqlite3").path
            try? FileManager.default.removeItem(atPath: Self.keyFile(sandbox))
            // Three, not five: on a loaded 2-core machine five debug builds in a row outlasted one another's 5 s
            // wait for the write lock (a legitimate "stayed locked" refusal, and not what this test is about).
            let runs = try Self.runTogether(
                Array(repeating: ["import", file, "--db", database], count: 3), environment: environment,
                sandbox: sandbox, label: "import-\(round)")
            for run in runs {
                // How long the imports took tells a busy disk (seconds for each) from a lock never waited for.
                let took = String(format: "%.1f", run.seconds)
                #expect(run.status == 0, "round \(round), done within \(took)s of the start: \(run.said)")
                #expect(run.said.hasPrefix("imported "), "round \(round): \(run.said)")
            }
            #expect(Self.configFiles(sandbox) == ["key"], "round \(round): one key file, no temporary one left")
            let list = try Binary.run(["list", "--db", database], environment: sandbox.environment)
            #expect(list.status == 0 && list.stdout.contains("acme-alice"), "round \(round): \(list.stderr)")
            let audit = try Binary.run(["audit", "--verify", "--db", database], environment: sandbox.environment)
            #expect(audit.stdout == "audit log intact: 3 entries\n", "round \(round): \(audit.stderr)")
        }
    }

    /// A refused import started together with a good one into the same new store takes away only what nobody
    /// else uses: the good import's store and the key stay (the refused one removed them after the good one said
    /// "imported", 6 rounds of 20 on a breaker's run, or under it: "no key", "the key file vanished").
    @Test func aRefusedImportBesideAGoodOneLeavesTheGoodOnesStore() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let good = try sandbox.write("import.json", CommandLineTests.importFile)
        let refused = try sandbox.write(
            "refused.json",
            #"""
            {"connections": [{"id": "zz", "integration": "nope", "scope": "user", "subject": "z@example.com",
              "access_token": "fake-access-token-zz01"}]}
            """#)
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in sandbox.environment { environment[name] = value }
        for round in 1...8 {
            let database = sandbox.root.appendingPathComponent("race-\(round).sqlite3").path
            try? FileManager.default.removeItem(atPath: Self.keyFile(sandbox))
            let files: [String] = round.isMultiple(of: 2) ? [good, refused] : [refused, good]
            let said = try Self.runTogether(
                files.map { ["import", $0, "--db", database] }, environment: environment, sandbox: sandbox,
                label: "race-\(round)"
            ).map(\.said)
            let goodSaid = said.first { $0.hasPrefix("imported ") }
            #expect(goodSaid != nil, "round \(round): the good import failed: \(said)")
            #expect(said.contains { $0.contains("nope") }, "round \(round): the refused import: \(said)")
            let list = try Binary.run(["list", "--db", database], environment: sandbox.environment)
            #expect(list.status == 0 && list.stdout.contains("acme-alice"), "round \(round): \(list.stderr)")
        }
    }

    /// Runs tokentop with each of `argumentLists`, started one right after the other so that they open a new store
    /// together, and returns each one's exit status, what it printed, and the seconds from the start to its end.
    static func runTogether(
        _ argumentLists: [[String]], environment: [String: String], sandbox: Sandbox, label: String
    ) throws -> [(status: Int32, said: String, seconds: Double)] {
        var running: [(Child, String)] = []
        for (index, arguments) in argumentLists.enumerated() {
            let output = sandbox.root.appendingPathComponent("\(label)-\(index).txt").path
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let process = Child()
            process.executableURL = URL(fileURLWithPath: Binary.path)
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = FileHandle(forWritingAtPath: output)
            process.standardError = FileHandle(forWritingAtPath: output)
            running.append((process, output))
        }
        let started = Date()
        for (process, _) in running { try process.run() }
        return running.map { process, output in
            process.waitUntilExit()
            let said = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            return (process.terminationStatus, said, Date().timeIntervalSince(started))
        }
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
            #expect(run.status == Binary.failureStatus(of: command), "\(command)")
            #expect(run.stderr == Binary.failureError(of: command, stderr: expected), "\(command)")
            #expect(run.stdout == Binary.failureOutput(of: command, stderr: expected), "\(command)")
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
