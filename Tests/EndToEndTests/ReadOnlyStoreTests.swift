import Foundation
import Testing

/// A store this user may read but not write beside (a backup, another user's file): the reading commands and a
/// read-only dashboard show it; the writing ones say they cannot write it, and nothing changes.
@Suite(.enabled(if: getuid() == 0, "runs the commands as the user nobody, which needs root"))
struct ReadOnlyStoreTests {
    /// Runs `tokentop` as the user nobody (65534) with only the key and the store named.
    static func runAsNobody(_ arguments: [String], key: String) throws -> Binary.Run {
        try Binary.run(
            executable: "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--", Binary.path] + arguments,
            environment: ["TOKENTOP_KEY": key, "HOME": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent"])
    }

    @Test func readingCommandsWorkOnAStoreInADirectoryThisUserCannotWrite() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let key = try String(
            contentsOfFile: sandbox.root.appendingPathComponent("config/tokentop/key").path, encoding: .utf8
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        // A copy, as a backup is: closed cleanly, so no write-ahead log beside it.
        let directory = sandbox.root.appendingPathComponent("backup")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        let copy = directory.appendingPathComponent("copy.sqlite3").path
        #expect(try Binary.run(["export", copy + ".json"], environment: sandbox.environment).status == 0)
        let made = try Binary.run(["import", copy + ".json", "--db", copy], environment: sandbox.environment)
        #expect(made.status == 0, "\(made.stderr)")
        try FileManager.default.removeItem(atPath: copy + ".json")
        for (path, mode) in [(sandbox.root.path, 0o755), (directory.path, 0o555), (copy, 0o444)] {
            #expect(chmod(path, mode_t(mode)) == 0)
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))

        let list = try Self.runAsNobody(["list", "--db", copy], key: key)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("acme-alice") && list.stdout.contains("acme-key"), "\(list.stdout)")
        let show = try Self.runAsNobody(["show", "acme-alice", "--db", copy], key: key)
        #expect(show.status == 0 && show.stdout.contains("alice@example.com"), "\(show.stderr)")
        let audit = try Self.runAsNobody(["audit", "--verify", "--db", copy], key: key)
        #expect(audit.status == 0, "\(audit.stderr)")

        let revoke = try Self.runAsNobody(["revoke", "acme-key", "--db", copy], key: key)
        #expect(revoke.status == 1)
        #expect(revoke.stderr.contains("cannot write the database \(copy)"), "\(revoke.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["copy.sqlite3"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before)
        _ = chmod(directory.path, 0o755)
    }
}
