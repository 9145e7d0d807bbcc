import Foundation
import Testing

/// What tokentop starts never inherits the key, nor the store's name or password.
struct ChildEnvironmentTests {
    @Test func anEventCommandGetsTheEnvironmentWithoutTheKeysAndTheStore() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let key = try String(
            contentsOfFile: sandbox.root.appendingPathComponent("config/tokentop/key").path, encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        // Obviously fake: 32 zero bytes.
        let newKey = Data(count: 32).base64EncodedString()
        let seen = sandbox.root.appendingPathComponent("hook-env.txt").path
        var environment = sandbox.environment
        environment["TOKENTOP_KEY"] = key
        environment["TOKENTOP_NEW_KEY"] = newKey
        environment["TOKENTOP_TEST_MARK"] = "kept"
        // A PostgreSQL URL with a password in TOKENTOP_STORE (which --db overrides), the store the daemon really
        // uses in TOKENTOP_DB; and a password libpq would read.
        environment["TOKENTOP_STORE"] = "postgres://ops:fake-pg-password-0002@127.0.0.1:9/fleet"
        environment["TOKENTOP_DB"] = sandbox.database
        environment["PGPASSWORD"] = "fake-pg-password-0001"
        let daemon = try Binary.start(
            ["daemon", "--db", sandbox.database, "--log", sandbox.root.appendingPathComponent("d.log").path,
             "--on-event", "env > '\(seen).tmp' && mv '\(seen).tmp' '\(seen)'"],
            environment: environment)
        defer { daemon.kill() }
        try await DaemonOperationsTests.waitFor(20, "the event command's environment") {
            FileManager.default.fileExists(atPath: seen)
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
        let lines = DaemonOperationsTests.read(seen).split(separator: "\n").map(String.init)
        let names = Set(lines.map { String($0.prefix { $0 != "=" }) })
        #expect(names.contains("PATH"))
        #expect(lines.contains("HOME=\(sandbox.root.path)"))
        #expect(lines.contains("TOKENTOP_TEST_MARK=kept"))
        #expect(!names.contains("TOKENTOP_KEY"))
        #expect(!names.contains("TOKENTOP_NEW_KEY"))
        #expect(!DaemonOperationsTests.read(seen).contains(key))
        for name in ["TOKENTOP_STORE", "TOKENTOP_DB", "PGPASSWORD"] { #expect(!names.contains(name), "\(name)") }
        #expect(!DaemonOperationsTests.read(seen).contains(sandbox.database))
        #expect(!DaemonOperationsTests.read(seen).contains("fake-pg-password-0001"))
        #expect(!DaemonOperationsTests.read(seen).contains("fake-pg-password-0002"))
    }
}
