import Foundation
import Testing

/// The headless refresher and a database another process holds locked.
struct DaemonAndLockTests {
    @Test func daemonLogsJSONLinesAndStopsOnSIGTERM() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)

        let (process, collector) = try Binary.startLoggingDaemon(environment: sandbox.environment)
        // The expired token is due at once; the dead endpoint makes its refresh fail, which the log must show.
        let deadline = Date().addingTimeInterval(15)
        try await collector.wait(seconds: deadline.timeIntervalSinceNow) { $0.contains("refresh_failed") }
        // Another process acts on the same database: the daemon sees it, and says it was not its own doing.
        let revoke = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        // A deadline from the revoke, not from the start: a loaded machine may take long to get here.
        try await collector.wait(seconds: 60) { $0.contains("\"revoked\"") }
        kill(process.processIdentifier, SIGTERM)
        try await collector.waitForEnd()
        #expect(await process.exited() == 0)
        let log = collector.text
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

    @Test func aDaemonWhoseDatabaseFileIsDeletedStopsAndFails() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        try CommandLineTests.importExpired(into: sandbox)
        let (process, collector) = try Binary.startLoggingDaemon(environment: sandbox.environment)
        try await collector.wait(seconds: 60) { $0.contains("daemon started") }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sandbox.database + suffix) }
        // Refreshing on would write each rotated refresh token into the deleted file: the daemon stops, failing.
        try await collector.wait(seconds: 60) { $0.contains("daemon stopped") }
        try await collector.waitForEnd()
        #expect(await process.exited() == 1)
        let objects = collector.text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let gone = try #require(objects.first { $0["msg"] as? String == "store_gone" }, "\(collector.text)")
        #expect((gone["detail"] as? String)?.contains("\(sandbox.database) was deleted or moved") == true)
        #expect(objects.filter { $0["msg"] as? String == "store_gone" }.count == 1)
        #expect(objects.last?["msg"] as? String == "daemon stopped")
    }

    /// A token endpoint and a revocation endpoint that answer 200 and count the revocations (`GET /count`).
    static let revocationCounter = #"""
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def answer(self, body):
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                if self.path == '/revoke':
                    self.server.revoked += 1
                self.answer(b'{}')
            def do_GET(self):
                self.answer(str(self.server.revoked).encode())
        """# + "\n" + CurlTransportTests.serving.replacingOccurrences(
        of: "print(server.server_port", with: "server.revoked = 0\nprint(server.server_port")

    /// A revocation at the provider cannot be taken back: while another process holds the database's lock, revoke
    /// sends nothing and says so. It revoked the tokens there, then said nothing was changed, and recorded nothing.
    @Test func revokeUnderALockSendsNothingToTheProvider() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let server = try await HostileProviderTests.Server(script: Self.revocationCounter)
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: #""token_url": "http://127.0.0.1:9/token","#,
                with: #""token_url": "\#(server.url("/token"))", "revocation_url": "\#(server.url("/revoke"))","#))
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(imported.status == 0, "\(imported.stderr)")
        func revocations() throws -> String { try String(contentsOf: server.url("/count"), encoding: .utf8) }

        let holder = try await DatabaseFaultTests.LockHolder(sandbox.database)
        let refused = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        try await holder.release()
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stayed locked by another process"), "\(refused.stderr)")
        #expect(refused.stderr.hasSuffix("nothing was sent to the provider\n"), "\(refused.stderr)")
        #expect(try revocations() == "0")
        #expect(try DatabaseFaultTests.list(sandbox.database, environment: sandbox.environment)
            .first { $0["id"] as? String == "acme-alice" }?["status"] as? String == "healthy")

        let revoked = try Binary.run(["revoke", "acme-alice"], environment: sandbox.environment)
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(try revocations() == "2", "the refresh token and the access token")
    }

    @Test func aDatabaseLockedByAnotherWriterIsOneClearLine() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        // Held until released, not for a while: a loaded machine cannot let the lock go before the import tries.
        let holder = try await DatabaseFaultTests.LockHolder(sandbox.database)
        let started = Date()
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        let took = Date().timeIntervalSince(started)
        try await holder.release()
        #expect(run.status == 1)
        // One busy timeout (5 s), as the message says; the failure's audit entry waited a second one before.
        #expect(took < 8, "\(took) s")
        #expect(run.stderr.contains("for more than 5 seconds"), "\(run.stderr)")
        #expect(run.stderr.contains(sandbox.database), "\(run.stderr)")
        #expect(run.stderr.lowercased().contains("lock") || run.stderr.lowercased().contains("busy"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }
}
