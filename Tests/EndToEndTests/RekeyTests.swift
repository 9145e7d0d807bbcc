import Foundation
import Testing

/// `tokentop rekey`: every secret under a new key, the old key refused afterwards, nothing lost.
struct RekeyTests {
    @Test func rekeyWithTheKeyFileReplacesItAndKeepsEverySecret() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let keyPath = sandbox.root.appendingPathComponent("config/tokentop/key").path
        let before = try String(contentsOfFile: keyPath, encoding: .utf8)
        let fingerprints = try Binary.run(["list", "--json"], environment: env).stdout

        let rekey = try Binary.run(["rekey"], environment: env)
        #expect(rekey.status == 0, "\(rekey.stderr)")
        #expect(rekey.stdout.contains("re-encrypted 4 secrets"), "\(rekey.stdout)")
        let after = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect(before != after)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: keyPath + ".new"))

        // Everything still reads, with the same fingerprints; the old key no longer opens the database.
        #expect(try Binary.run(["list", "--json"], environment: env).stdout == fingerprints)
        var old = env
        old["TOKENTOP_KEY"] = before.trimmingCharacters(in: .whitespacesAndNewlines)
        let refused = try Binary.run(["list"], environment: old)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("cannot decrypt") || refused.stderr.contains("key"), "\(refused.stderr)")
        let audit = try Binary.run(["audit"], environment: env).stdout
        #expect(audit.contains("rekey") && audit.contains("4 secrets re-encrypted"))
    }

    @Test func rekeyFromTheEnvironmentNeedsTheNewKeyThere() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        var env = sandbox.environment
        env["TOKENTOP_KEY"] = Data(repeating: 7, count: 32).base64EncodedString()
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)

        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("TOKENTOP_NEW_KEY"), "\(refused.stderr)")

        env["TOKENTOP_NEW_KEY"] = Data(repeating: 9, count: 32).base64EncodedString()
        #expect(try Binary.run(["rekey"], environment: env).status == 0)
        env["TOKENTOP_KEY"] = env["TOKENTOP_NEW_KEY"]
        env["TOKENTOP_NEW_KEY"] = ""
        let list = try Binary.run(["list"], environment: env)
        #expect(list.status == 0)
        #expect(list.stdout.contains("acme-alice"))
    }
}

/// Rekey must not pull the key from under a running refresher.
struct RekeyWhileRunningTests {
    @Test func rekeyRefusesWhileADaemonRuns() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let env = sandbox.environment
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: env).status == 0)
        let daemon = try Binary.startDaemon(environment: env)
        defer {
            kill(daemon.processIdentifier, SIGKILL)
            daemon.waitUntilExit()
        }
        Thread.sleep(forTimeInterval: 2.5)
        let refused = try Binary.run(["rekey"], environment: env)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stop every dashboard and daemon"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"))
    }
}
