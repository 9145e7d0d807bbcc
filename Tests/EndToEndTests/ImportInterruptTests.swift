import Foundation
import Testing

/// Ctrl-C during an import into a new store, while it writes: the import is rolled back, the new database and key
/// file are taken away again (as for a refused file), and it says so, exit 130. Before, the process died of the
/// signal without a word and left an empty store and a key file behind.
struct ImportInterruptTests {
    @Test func ctrlCWhileANewStoreIsWrittenLeavesNothing() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let connections = (0..<12_000).map { index in
            """
            {"id": "c\(index)", "integration": "acme", "scope": "user", "subject": "u\(index)@example.com",
             "access_token": "fake-access-token-\(index)", "refresh_token": "fake-refresh-token-\(index)",
             "expires_at": "\(CommandLineTests.farFuture)"}
            """
        }
        let file = try sandbox.write(
            "many.json",
            """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [\(connections.joined(separator: ",\n"))]}
            """)
        let database = sandbox.root.appendingPathComponent("new.sqlite3").path
        let run = try LiveProcess(["import", file, "--db", database], environment: sandbox.environment)
        // Interrupted once the store exists and the import writes into it. Reading the file comes first: under the
        // whole suite's load a debug build took over a minute for it.
        let wal = database + "-wal"
        let sent = await run.interrupt(when: { FileManager.default.fileExists(atPath: wal) }, timeout: 240)
        try #require(sent, "the import never wrote its store: \(run.stderr)")
        let status = try await run.finish(timeout: 30)
        #expect(status == 130, "\(run.stderr)")
        #expect(run.stderr == "tokentop: interrupted by signal 2: nothing was imported\n", "\(run.stderr)")
        #expect(run.stdout.isEmpty, "\(run.stdout)")
        for suffix in ["", "-wal", "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: database + suffix), "\(suffix) left behind")
        }
        // The key file it made stays: another process may have sealed a store with it meanwhile.
        #expect(MissingKeyCommandTests.configFiles(sandbox) == ["key"])
    }
}
