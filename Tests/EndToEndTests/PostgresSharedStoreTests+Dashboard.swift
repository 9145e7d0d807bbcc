import Foundation
import Testing
import TokentopCore
import TokentopTestSupport

extension PostgresSharedStoreTests {
    /// A dashboard in tmux on the PostgreSQL store shows another process's refresh by its notice (LISTEN/NOTIFY), in
    /// a fraction of its slower poll, and still shows changes, later, when its notices are lost; no secret reaches
    /// the screen or the tables. The latencies are printed: 0.2–0.8 s on a quiet machine, up to 1.4 s for the first
    /// change while the rest of the suite loads both cores.
    ///
    /// The dashboard reaches the server through a relay of the test's own, so that the test can keep its listening
    /// session from coming back: ending that session alone loses nothing, since the listener reconnects at once and
    /// counts the reconnection as a notice (the first case below shows it).
    @Test func aDashboardSeesAnotherProcesssRefreshByNotice() async throws {
        let server = try await OAuthServerFixture.shared()
        let url = try PostgresServer.freshDatabase(label: "pg dashboard")
        defer { try? PostgresServer.dropDatabase(url) }
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let ids = (0..<6).map { "live-\($0)" }
        let pairs = try server.seed(client: server.basicClient, count: ids.count)
        // Half an hour to go: nothing is due, so every change on screen is one the test made.
        let file = try Self.importFile(server: server, sandbox: sandbox, ids: ids, pairs: pairs, expiresIn: 1800)
        let environment = Self.environment(sandbox, store: url)
        let imported = try Binary.run(["--store", url, "import", file], environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let status = try Binary.run(["--store", url, "status"], environment: environment)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.hasPrefix("OK: 6 connections: 6 healthy"), "status: \(status.stdout)")
        let list = try Binary.run(["--store", url, "list", "--json"], environment: environment)
        let rows = try #require(try JSONSerialization.jsonObject(with: list.output) as? [[String: Any]])
        #expect(rows.compactMap { $0["id"] as? String }.sorted() == ids)
        #expect(rows.allSatisfy { $0["status"] as? String == "healthy" && $0["provider"] as? String != nil })

        let port = try #require(URLComponents(string: url)?.port)
        let relay = try TCPRelay(to: port)
        defer { relay.stop() }
        var relayed = try #require(URLComponents(string: url))
        relayed.port = relay.port
        let dashboardURL = try #require(relayed.string)
        var terminal = sandbox.environment.merging(InteropTests().binaryEnvironment) { $1 }
        terminal["TOKENTOP_STORE"] = dashboardURL
        let tmux = try Tmux(width: 120, height: 30, environment: terminal, directory: sandbox.root)
        try tmux.send("\(Binary.path)", "Enter")
        var screen = try await tmux.wait(timeout: 20) { screen in
            ids.allSatisfy { DashboardTmuxTests.row(of: $0, in: screen) != nil }
        }
        #expect(ids.allSatisfy { DashboardTmuxTests.row(of: $0, in: screen)?.contains("never") == true }, "\(screen)")
        #expect(screen.contains("tokentop@127.0.0.1:\(relay.port)"), "the store in the header:\n\(screen)")
        try await Self.waitForListener(url, present: true)

        // Notices: another process refreshes, and its row shows it well before a poll would. The commands
        // start at different points of the dashboard's second, since it redraws on whole seconds.
        var latencies: [Double] = []
        for (index, id) in ids.prefix(3).enumerated() {
            try await Task.sleep(nanoseconds: UInt64(index) * 300_000_000)
            let latency = try await Self.change(id, ["refresh", id], url: url, environment: environment, tmux: tmux) {
                !$0.contains("never")
            }
            latencies.append(latency)
        }
        Self.expectByNotice(latencies, "seconds from the command's exit to the screen")

        // The listening session ends just before a change: it comes back at once and looks, so nothing is lost.
        try Self.terminateListener(url)
        let reconnected = try await Self.change(
            ids[3], ["revoke", ids[3]], url: url, environment: environment, tmux: tmux
        ) {
            $0.contains("revoked")
        }
        #expect(reconnected <= 6, "a revoke seen \(reconnected) s after the listener's session was ended")

        // Notices lost for good: the listener cannot reconnect, and the dashboard's slower poll finds the change.
        try await Self.waitForListener(url, present: true)
        relay.refuseNewConnections(true)
        try Self.terminateListener(url)
        try await Self.waitForListener(url, present: false)
        let polled = try await Self.change(
            ids[4], ["refresh", ids[4]], url: url, environment: environment, tmux: tmux
        ) {
            !$0.contains("never")
        }
        // The poll comes every 5 s; under a loaded CI run the screen once showed it 9.8 s later. What matters is that
        // polling finds it at all, with no listener connected (below), well before anyone would miss it.
        #expect(polled <= 15, "a refresh seen \(polled) s later without notices")
        let listening = try PostgresServer.psql(url, Self.listenerQuery("count(*)"))
        #expect(listening == "0", "the change was found by polling, with no listener connected")

        // Once the server can be reached again, notices come back.
        relay.refuseNewConnections(false)
        try await Self.waitForListener(url, present: true)
        let restored = try await Self.change(
            ids[5], ["refresh", ids[5]], url: url, environment: environment, tmux: tmux
        ) {
            !$0.contains("never")
        }
        Self.expectByNotice([restored], "seconds to the screen once the listener is back")

        // No secret on the screen or in the tables: token columns and the client secret are bytea ciphertext.
        screen = try tmux.capture()
        let store = try Store.open(path: url, secrets: SecretBox(key: InteropTests.key), create: false)
        var secrets = pairs.flatMap { [$0.access, $0.refresh] } + [server.basicClient.secret]
        for id in ids {
            let tokens = try store.tokenSecrets(connectionID: id)
            secrets += [tokens.access?.value, tokens.refresh?.value].compactMap { $0 }
        }
        #expect(!secrets.contains { screen.contains($0) }, "a secret on the dashboard's screen")
        let dump = try ["connections", "integrations", "history", "audit"].map {
            try PostgresServer.psql(url, "SELECT * FROM \($0)")
        }.joined(separator: "\n")
        #expect(dump.contains("live-5"), "the dump holds the rows")
        #expect(!secrets.contains { dump.contains($0) }, "a secret in plain text in a table")
        let types = try PostgresServer.psql(
            url,
            """
            SELECT table_name || '.' || column_name || '=' || data_type FROM information_schema.columns
            WHERE column_name IN ('access_token', 'refresh_token', 'client_secret') ORDER BY 1
            """)
        #expect(
            types.split(separator: "\n") == [
                "connections.access_token=bytea", "connections.refresh_token=bytea",
                "integrations.client_secret=bytea",
            ], "\(types)")
        let listed = try Binary.run(["--store", url, "list"], environment: environment)
        #expect(listed.status == 0 && listed.stdout.contains("revoked"), "\(listed.stdout)")
        #expect(!secrets.contains { listed.stdout.contains($0) })
        try tmux.send("q")
        print(
            "postgres dashboard: another process's change on screen "
                + latencies.map { String(format: "%.2f s", $0) }.joined(separator: ", ")
                + String(format: " after its exit; %.2f s with the listener's session just ended; ", reconnected)
                + String(format: "%.2f s with notices lost (polling); %.2f s once notices came back", polled, restored))
    }

    /// Runs `tokentop --store URL ARGUMENTS` in another process, then polls the screen until the row of `id`
    /// satisfies `shows`; the seconds from the command's exit to then (or 10 when it never does).
    static func change(
        _ id: String, _ arguments: [String], url: String, environment: [String: String], tmux: Tmux,
        shows: @escaping @Sendable (String) -> Bool
    ) async throws -> Double {
        let run = try Binary.run(["--store", url] + arguments, environment: environment)
        let exited = Date()
        #expect(run.status == 0, "\(arguments): \(run.stderr)")
        // Timed on a thread of its own: polled from the test's task, a loaded pool's late turn was counted too.
        if let seconds = try await tmux.seconds(from: exited, until: { screen in
            DashboardTmuxTests.row(of: id, in: screen).map(shows) ?? false
        }) {
            return seconds
        }
        Issue.record("\(id) never showed the change of `\(arguments.joined(separator: " "))`:\n\(try tmux.capture())")
        return 10
    }

    /// Changes came by notice: every one reaches the screen, and the median of them well under the poll's
    /// (4.4–4.8 s measured when notices are lost). One change of three may lag on a CI run that loads both cores
    /// (6.4 s once, the first after the dashboard started); issue 7's second is a measured figure, printed by the
    /// test, not a bound a busy machine could break.
    static func expectByNotice(_ latencies: [Double], _ what: String) {
        let median = latencies.sorted()[latencies.count / 2]
        #expect(latencies.allSatisfy { $0 < 10 } && median <= 2.5, "\(what): \(latencies)")
    }

    /// A query over the store's own sessions that are listening for change notices.
    static func listenerQuery(_ columns: String) -> String {
        """
        SELECT \(columns) FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE 'LISTEN tokentop_changes%' AND pid <> pg_backend_pid()
        """
    }

    /// Ends the listening session of every process on the store (the dashboard's is the only one).
    static func terminateListener(_ url: String) throws {
        let ended = try PostgresServer.psql(url, listenerQuery("pg_terminate_backend(pid)"))
        #expect(ended == "t", "one listener session ended: \(ended)")
    }

    /// Waits up to 30 s (the listener's longest reconnect backoff is 10 s, and a loaded CI run once missed 15 s)
    /// until a listening session exists, or none does; on failure the store's sessions are named.
    ///
    /// Polled on a thread of its own, like ``Tmux/wait(timeout:until:)``: the pool that runs the test's tasks is
    /// only as wide as the machine has cores, and other tests block its threads.
    static func waitForListener(_ url: String, present: Bool) async throws {
        let count: String = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(30)
                do {
                    var count = try PostgresServer.psql(url, listenerQuery("count(*)"))
                    while (count != "0") != present, Date() < deadline {
                        usleep(100_000)
                        count = try PostgresServer.psql(url, listenerQuery("count(*)"))
                    }
                    continuation.resume(returning: count)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        guard (count != "0") != present else { return }
        let sessions = try PostgresServer.psql(
            url,
            """
            SELECT application_name, state, backend_start, left(query, 40) FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
            """)
        Issue.record(
            "listening sessions: \(count), wanted \(present ? "one" : "none"); the store's sessions:\n\(sessions)")
    }
}
