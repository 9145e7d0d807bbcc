import Foundation
import Testing
import TokentopTestSupport

/// `tokentop audit`: every operator action from the command line, hash-chained, and a broken chain detected.
struct AuditTests {
    /// Changes entry `seq`'s outcome behind tokentop's back, as someone with write access to the file could.
    static func rewriteOutcome(of seq: Int, to outcome: String, in database: String) async throws {
        let edit = Child()
        edit.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        edit.arguments = [
            "python3", "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n"
                + "c.execute(\"UPDATE audit SET outcome = '\(outcome)' WHERE seq = \(seq)\")\nc.commit()\n",
            database,
        ]
        try edit.run()
        _ = await edit.exited()
    }

    @Test func operatorActionsAreAuditedAndTamperingIsCaught() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let env = sandbox.environment
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        _ = try Binary.run(["refresh", "acme-alice"], environment: env)
        _ = try Binary.run(["reauth", "acme-alice"], environment: env)
        #expect(try Binary.run(["revoke", "acme-key"], environment: env).status == 0)

        let json = try Binary.run(["audit", "--json"], environment: env)
        #expect(json.status == 0)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(entries.map { $0["action"] as? String } == ["import", "refresh", "reauth", "revoke"])
        #expect(entries.map { $0["outcome"] as? String } == ["ok", "failed", "prompted", "ok"])
        #expect(entries[1]["target"] as? String == "acme-alice")
        #expect(entries.allSatisfy { ($0["user"] as? String)?.isEmpty == false })
        #expect(!json.stdout.contains("fake-access-token-0001") && !json.stdout.contains("fake-client-secret-0001"))

        let verify = try Binary.run(["audit", "--verify"], environment: env)
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("audit log intact: 4 entries"))

        try await Self.rewriteOutcome(of: 2, to: "ok", in: sandbox.database)
        let broken = try Binary.run(["audit", "--verify"], environment: env)
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("entry 2 was changed after it was written"), "\(broken.stderr)")
    }

    /// The whole log and its anchor deleted behind tokentop's back: `verify` said "intact: 0 entries". A restore of
    /// an export emptied the same way is refused.
    @Test func aLogRemovedWithItsAnchorIsCaught() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let env = sandbox.environment
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let export = sandbox.root.appendingPathComponent("whole.json").path
        #expect(try Binary.run(["export", export], environment: env).status == 0)
        let wipe = try Binary.run(
            executable: "/usr/bin/sqlite3",
            [sandbox.database, "DELETE FROM audit; DELETE FROM meta WHERE name = 'audit_anchor'"])
        #expect(wipe.status == 0, "\(wipe.stderr)")
        let verify = try Binary.run(["audit", "--verify"], environment: env)
        #expect(verify.status == 1)
        #expect(
            verify.stderr == "tokentop: audit log of \(sandbox.database) is broken: the log's anchor is missing, "
                + "yet the store holds (or held) connections, integrations or history: the log may have been removed\n")

        // The export with its log emptied and its anchor left out.
        var document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: export))) as? [String: Any])
        var tables = try #require(document["tables"] as? [String: Any])
        tables["audit"] = [Any]()
        tables["meta"] = (tables["meta"] as? [[String: Any]] ?? []).filter { $0["name"] as? String != "audit_anchor" }
        document["tables"] = tables
        let emptied = sandbox.root.appendingPathComponent("emptied.json")
        try JSONSerialization.data(withJSONObject: document).write(to: emptied)
        let target = sandbox.root.appendingPathComponent("restored.sqlite3").path
        let restore = try Binary.run(["import", emptied.path, "--db", target], environment: env)
        #expect(restore.status == 1)
        #expect(restore.stderr.contains("the log's anchor is missing"), "\(restore.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        // The export as written restores, and its log verifies there.
        let genuine = try Binary.run(["import", export, "--db", target], environment: env)
        #expect(genuine.status == 0, "\(genuine.stderr)")
        let restored = try Binary.run(["audit", "--verify", "--db", target], environment: env)
        #expect(restored.stdout == "audit log intact: 2 entries\n", "\(restored.stderr)")
    }

    /// `audit --verify --json` answers in JSON, intact or not; a broken chain still exits 1 and says so on stderr.
    @Test func verifyWithJSONPrintsOneObject() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let env = sandbox.environment
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        #expect(try Binary.run(["revoke", "acme-key"], environment: env).status == 0)

        func verify() throws -> (run: Binary.Run, object: [String: Any]?) {
            let run = try Binary.run(["audit", "--verify", "--json"], environment: env)
            return (run, try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        }
        let intact = try verify()
        #expect(intact.run.status == 0, "\(intact.run.stderr)")
        #expect(intact.object?["intact"] as? Bool == true, "\(intact.run.stdout)")
        #expect(intact.object?["entries"] as? Int == 2)
        #expect(intact.object?["first_broken"] is NSNull)
        #expect(intact.object?["problem"] is NSNull)
        #expect(intact.run.stderr.isEmpty)

        try await Self.rewriteOutcome(of: 2, to: "failed", in: sandbox.database)
        let broken = try verify()
        #expect(broken.run.status == 1)
        #expect(broken.object?["intact"] as? Bool == false, "\(broken.run.stdout)")
        #expect(broken.object?["entries"] as? Int == 2)
        #expect(broken.object?["first_broken"] as? Int == 2)
        #expect(broken.object?["problem"] as? String == "entry 2 was changed after it was written")
        #expect(
            broken.run.stderr.contains("is broken: entry 2 was changed after it was written"), "\(broken.run.stderr)")
    }

    /// An import or a restore from standard input is audited as `standard input`, as its messages name it, not as
    /// `-`; so are the ones that fail.
    @Test func standardInputIsAuditedByName() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = Data(CommandLineTests.importFile.utf8)
        #expect(try Binary.run(["import", "-"], environment: env, stdin: file).status == 0)
        #expect(try Binary.run(["import", "-"], environment: env, stdin: Data()).status == 1)
        let export = try Binary.run(["export", "-"], environment: env)
        #expect(export.status == 0, "\(export.stderr)")
        // A restore into the store it came from, which is not empty, fails; into a new one it succeeds.
        let refused = try Binary.run(["import", "-"], environment: env, stdin: Data(export.stdout.utf8))
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("tokentop: standard input: "), "\(refused.stderr)")
        let copy = sandbox.database + ".copy"
        let restored = try Binary.run(["import", "-", "--db", copy], environment: env, stdin: Data(export.stdout.utf8))
        #expect(restored.status == 0, "\(restored.stderr)")

        // The copy carries the source's log over, and adds its own restore.
        for (database, outcomes) in [(sandbox.database, ["ok", "failed", "failed"]), (copy, ["ok", "failed", "ok"])] {
            let json = try Binary.run(["audit", "--json", "--db", database], environment: env)
            let entries = try #require(
                try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            let imports = entries.filter { $0["action"] as? String == "import" }
            #expect(imports.map { $0["outcome"] as? String } == outcomes, "\(json.stdout)")
            #expect(imports.map { $0["target"] as? String } == Array(repeating: "standard input", count: 3))
        }
    }
}
