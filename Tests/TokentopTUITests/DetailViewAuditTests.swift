import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// The detail view only looks: opening it, and every snapshot it redraws for, writes nothing to the store. Only an
/// operator's `a` is audited, and in a read-only engine not even that.
@Suite struct DetailViewAuditTests {
    static let importFile = """
        {
          "integrations": [
            {"id": "acme", "provider": "acme", "token_url": "http://127.0.0.1:9/token",
             "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}
          ],
          "connections": [
            {"id": "acme-alice", "integration": "acme", "scope": "user", "subject": "alice@example.com",
             "access_token": "fake-access-token-0001", "refresh_token": "fake-refresh-token-0001",
             "expires_in": 3600},
            {"id": "acme-key", "integration": "acme", "scope": "org", "subject": "org:acme",
             "credential": "api_key", "access_token": "fake-api-key-0001"}
          ]
        }
        """

    /// The real engine on a fresh SQLite store, the real dashboard and loop on an in-memory screen.
    final class Rig {
        let directory: URL
        let store: Store
        let engine: Engine
        let screen = GridScreen(columns: 120, rows: 40)
        let dashboard: Dashboard
        let loop: DashboardLoop

        init(readOnly: Bool) throws {
            let clock = TestClock()
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-tui-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
            _ = try store.importBundle(
                try ImportFile.parse(Data(DetailViewAuditTests.importFile.utf8), source: "test"), at: clock.now())
            engine = try Engine(
                store: store, transport: SandboxProvider(clock: clock, latency: 0...0), timeSource: clock,
                readOnly: readOnly)
            dashboard = Dashboard(backend: engine, size: screen.size)
            loop = DashboardLoop(dashboard: dashboard, screen: screen, renderer: DashboardRenderer(theme: .builtIn))
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        func press(_ keys: Key...) {
            screen.keys += keys
            loop.run(maxIterations: loop.iterations + keys.count + 1)
        }

        /// Everything the store holds that a write would change: the audit log and the history.
        func written() throws -> (audit: [AuditEntry], history: Int) {
            (try store.auditLog(), try store.history(since: 0).entries.count)
        }
    }

    @Test(arguments: [false, true])
    func viewingDetailsWritesNothing(readOnly: Bool) async throws {
        let rig = try Rig(readOnly: readOnly)
        let before = try rig.written()
        rig.press(.enter)
        #expect(rig.dashboard.view == .detail(id: "acme-alice"))
        #expect(rig.screen.text.joined(separator: "\n").contains("nobody needs to act now"))
        // A busy store: every new snapshot makes the view ask for its prompt again.
        for change in 1...12 {
            rig.engine.post(notice: "change \(change)")
            rig.press(.down)
        }
        rig.press(.escape, .down, .enter)
        #expect(rig.dashboard.view == .detail(id: "acme-key"))
        rig.press(.up, .escape)
        await rig.engine.drainAudit()
        let after = try rig.written()
        #expect(after.audit == before.audit, "viewing details was audited: \(after.audit.map(\.outcome))")
        #expect(after.history == before.history)
    }

    /// `a` on a connection no sign-in can serve is an operator's request: audited once, unless read-only.
    @Test(arguments: [false, true])
    func onlyTheReauthKeyIsAudited(readOnly: Bool) async throws {
        let rig = try Rig(readOnly: readOnly)
        let before = try rig.written().audit
        rig.press(.down, .enter, .character("a"))
        #expect(rig.screen.text.joined(separator: "\n").contains("Re-auth acme-key"))
        await rig.engine.drainAudit()
        let added = try rig.written().audit.dropFirst(before.count)
        if readOnly {
            #expect(added.isEmpty, "a read-only engine wrote \(added.map(\.outcome))")
        } else {
            #expect(added.map(\.action) == [.reauth])
            #expect(added.map(\.outcome) == ["prompted"])
            #expect(added.map(\.target) == ["acme-key"])
        }
    }
}
