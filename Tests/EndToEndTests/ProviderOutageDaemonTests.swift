import Foundation
import Testing

/// `tokentop daemon` against a provider of our own on 127.0.0.1 that answers 503 until told to recover.
struct ProviderOutageDaemonTests {
    /// 503 with an HTML page for every token request until `GET /recover`; then rotated fake tokens.
    static let script = #"""
        import http.server, json, threading
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                with self.server.lock:
                    self.server.requests += 1
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
                self.wfile.write(str(self.server.requests).encode())
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
        server.requests = 0
        server.recovered = False
        server.lock = threading.Lock()
        print(server.server_port, flush=True)
        server.serve_forever()
        """#

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
        // The fifth failure opens it, with at most the other 7 of the 8 in flight still to fail; everything after
        // that, retries included, waits for the probe 15 to 19 s later.
        let limit = 5 + 7
        try await Task.sleep(for: .seconds(5))
        let sentWhileOpen = try String(contentsOf: URL(string: "\(base)/count")!, encoding: .utf8)
        #expect(Int(sentWhileOpen) ?? 0 <= limit, "\(sentWhileOpen) token requests while the breaker was open")
        let failures = log.objects.filter { $0["msg"] as? String == "refresh_failed" }.count
        #expect(failures <= limit, "\(failures) error lines for one outage")

        _ = try String(contentsOf: URL(string: "\(base)/recover")!, encoding: .utf8)
        let closed = try #require(try await log.waitFor("breaker_closed", seconds: 25), "no breaker_closed line")
        #expect(closed["provider"] as? String == "acme-crm")
        // Released over 30 s at random: a few seconds later only some have gone out.
        try await Task.sleep(for: .seconds(3))
        let soon = log.objects.filter { $0["msg"] as? String == "refreshed" }.count
        #expect(soon >= 1 && soon < count, "\(soon) of \(count) refreshed 3 s after the provider recovered")
        kill(process.processIdentifier, SIGTERM)
        #expect(await process.exited() == 0)
        #expect(log.objects.filter { $0["msg"] as? String == "breaker_opened" }.count == 1)
    }
}
