import Foundation
import Testing

/// `tokentop daemon` against a provider of our own on 127.0.0.1 that answers 503 until told to recover.
struct ProviderOutageDaemonTests {
    /// 503 with an HTML page for every token request until `GET /recover`; then rotated fake tokens.
    static let script = #"""
        import http.server, json, threading, time
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                with self.server.lock:
                    self.server.requests += 1
                    self.server.times.append(time.time())
                    n = self.server.requests
                if not self.server.recovered:
                    self.send_response(503)
                    self.send_header('Content-Type', 'text/html')
                    self.end_headers()
                    self.wfile.write(b'<html><body><h1>503 Service Unavailable</h1></body></html>')
                    return
                out = json.dumps({'access_token': 'fake-at-%d' % n, 'token_type': 'Bearer', 'expires_in': 3600,
                    'refresh_token': 'fake-rt-rotated-%d' % n}).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.end_headers()
                self.wfile.write(out)
            def do_GET(self):
                if self.path == '/recover':
                    self.server.recovered = True
                self.send_response(200)
                self.end_headers()
                if self.path == '/times':
                    with self.server.lock:
                        self.wfile.write(json.dumps(self.server.times).encode())
                    return
                self.wfile.write(str(self.server.requests).encode())
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        server.requests = 0
        server.times = []
        server.recovered = False
        server.lock = threading.Lock()
        print(server.server_port, flush=True)
        server.serve_forever()
        """#

    /// When the provider received each token request, by its clock.
    static func requestTimes(_ base: String) throws -> [Date] {
        let data = try Data(contentsOf: URL(string: "\(base)/times")!)
        return ((try JSONSerialization.jsonObject(with: data)) as? [Double] ?? []).map(Date.init(timeIntervalSince1970:))
    }

    @Test func anOutageIsOneLogLineAndOnlyAProbeUntilTheProviderRecovers() async throws {
        let server = try await HostileProviderTests.Server(script: Self.script)
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let base = "http://127.0.0.1:\(server.port)"
        let count = 20
        let connections = (0..<count).map { index in
            """
            {"id": "crm-\(index)", "integration": "crm", "scope": "user", "subject": "u\(index)@example.com",
             "access_token": "fake-at-crm-\(index)", "refresh_token": "fake-rt-crm-\(index)", "expires_in": 0}
            """
        }
        let file = try sandbox.write(
            "crm.json",
            """
            {"integrations": [{"id": "crm", "provider": "acme-crm", "token_url": "\(base)/token",
              "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
             "connections": [\(connections.joined(separator: ","))]}
            """)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)

        let (process, log) = try Binary.startLoggingDaemon(environment: sandbox.environment)
        defer { kill(process.processIdentifier, SIGKILL) }

        // A deadline, not a measure: the line comes within a second on a quiet machine, much later on a loaded one.
        let opened = try #require(
            try await log.waitFor("breaker_opened", seconds: 60), "no breaker_opened line in:\n\(log.text)")
        #expect(opened["provider"] as? String == "acme-crm")
        #expect(opened["http.status"] as? Int == 503)
        #expect((opened["detail"] as? String)?.hasPrefix("provider acme-crm is failing: ") == true)
        // Judged by the daemon's and the provider's own clocks, not by when this test got to look: a loaded machine
        // delays the test, not the daemon's schedule. Requests in flight when it opened had reached the provider
        // already; after that nothing goes out until the probe, 15 to 19 s later (the log's time has whole seconds).
        let openedAt = try #require((opened["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })
        try await Task.sleep(for: .seconds(5))
        let times = try Self.requestTimes(base)
        let late = times.filter { $0 > openedAt.addingTimeInterval(2) && $0 < openedAt.addingTimeInterval(14) }
        #expect(late.isEmpty, "\(late.count) token requests while the breaker was open, of \(times.count)")
        let failures = log.objects.filter { $0["msg"] as? String == "refresh_failed" }.count
        #expect(failures <= times.count, "\(failures) error lines for \(times.count) requests")

        _ = try String(contentsOf: URL(string: "\(base)/recover")!, encoding: .utf8)
        // A deadline, not a measure: a probe that went out before the recovery failed and doubled the cool-down.
        let closed = try #require(try await log.waitFor("breaker_closed", seconds: 90), "no breaker_closed line")
        #expect(closed["provider"] as? String == "acme-crm")
        // Released over 30 s at random, not all at once: the refreshes' own times are spread out.
        var refreshed: [Date] = []
        let deadline = Date().addingTimeInterval(90)
        while refreshed.count < count, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            refreshed = log.objects.filter { $0["msg"] as? String == "refreshed" }.compactMap {
                ($0["time"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
            }
        }
        #expect(refreshed.count == count, "\(refreshed.count) of \(count) refreshed after the provider recovered")
        if let first = refreshed.min(), let last = refreshed.max() {
            #expect(last.timeIntervalSince(first) >= 5, "all released within \(last.timeIntervalSince(first)) s")
        }
        kill(process.processIdentifier, SIGTERM)
        #expect(await process.exited() == 0)
        #expect(log.objects.filter { $0["msg"] as? String == "breaker_opened" }.count == 1)
    }
}
