import Foundation
import Testing

/// The headless refresher and a database another process holds locked.
struct DaemonAndLockTests {
    @Test func daemonLogsJSONLinesAndStopsOnSIGTERM() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["daemon"]
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.environment) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The expired token is due at once; the dead endpoint makes its refresh fail, which the log must show.
        var log = ""
        let deadline = Date().addingTimeInterval(15)
        let reader = err.fileHandleForReading
        while Date() < deadline, !log.contains("refresh_failed") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
        }
        // Another process acts on the same database: the daemon sees it, and says it was not its own doing.
        _ = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        while Date() < deadline.addingTimeInterval(10), !log.contains("\"revoked\"") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            log += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGTERM)
        log += String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = log.split(separator: "\n").map(String.init)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "every line is JSON:\n\(log)")
        #expect(objects.first?["msg"] as? String == "daemon started")
        let failure = try #require(objects.first { $0["msg"] as? String == "refresh_failed" })
        #expect(failure["connection.id"] as? String == "acme-alice")
        #expect(failure["error"] as? String == "network_error")
        #expect(failure["by"] as? String == "this daemon")
        let revoked = try #require(objects.first { $0["msg"] as? String == "revoked" }, "\(log)")
        #expect(revoked["connection.id"] as? String == "acme-alice")
        #expect(revoked["by"] as? String == "another process")
        #expect(objects.last?["msg"] as? String == "daemon stopped")
        #expect(!log.contains("fake-refresh-token-0001") && !log.contains("fake-access-token-0001"))
    }

    @Test func aDatabaseLockedByAnotherWriterIsOneClearLine() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = [
            "python3", "-c",
            "import sqlite3, sys, time\n"
                + "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                + "c.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(12)\n",
            sandbox.database,
        ]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL) }
        _ = out.fileHandleForReading.availableData  // "locked"

        let run = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stderr.contains(sandbox.database), "\(run.stderr)")
        #expect(run.stderr.lowercased().contains("lock") || run.stderr.lowercased().contains("busy"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }
}
