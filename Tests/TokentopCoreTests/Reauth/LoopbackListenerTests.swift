import Foundation
import Testing

@testable import TokentopCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The loopback listener on real sockets on 127.0.0.1, visited as a browser would with URLSession.
@Suite struct LoopbackListenerTests {
    static let okPage = LoopbackListener.Page(status: 200, html: "<p>signed in</p>")

    @Test func bindsAnEphemeralPortAndReturnsTheRedirectsParameters() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        #expect(listener.port > 0)
        #expect(listener.redirectURI == "http://127.0.0.1:\(listener.port)/callback")
        async let received = listener.receive(timeout: 10) { _ in Self.okPage }
        let page = try await Browser.get("\(listener.redirectURI)?code=fake-code-0001&state=fake%20state")
        #expect(page.status == 200)
        #expect(page.body == "<p>signed in</p>")
        #expect(page.headers["cache-control"] == "no-store")
        #expect(page.headers["referrer-policy"] == "no-referrer")
        #expect(try await received == ["code": "fake-code-0001", "state": "fake state"])
    }

    @Test func strayRequestsGetAnErrorAndTheListenerKeepsWaiting() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        async let received = listener.receive(timeout: 10) { _ in Self.okPage }
        let favicon = try await Browser.get("http://127.0.0.1:\(listener.port)/favicon.ico")
        #expect(favicon.status == 404)
        #expect(favicon.body.contains("tokentop waits for the sign-in at /callback"))
        let post = try await Browser.get("\(listener.redirectURI)?code=x", method: "POST")
        #expect(post.status == 405)
        // The callback without a code or an error (a stale tab, a prefetch) does not end the sign-in.
        let bare = try await Browser.get(listener.redirectURI)
        #expect(bare.status == 400)
        #expect(bare.body.contains("waits for the provider to send you back"))
        _ = try await Browser.get("\(listener.redirectURI)?code=fake-code-0002&state=s")
        #expect(try await received["code"] == "fake-code-0002")
    }

    // Only that it ends, with the time-out: a test run whose other tests keep both threads of the pool busy may
    // resume this one long after the listener gave up, so the wall clock proves nothing here.
    @Test(.timeLimit(.minutes(2))) func aRedirectThatNeverComesTimesOut() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        await #expect {
            _ = try await listener.receive(timeout: 0.3) { _ in Self.okPage }
        } throws: { error in
            let failure = error as? ReauthFailure
            return failure?.code == .timedOut && failure?.message.contains("no redirect reached") == true
        }
    }

    @Test func cancellingTheTaskEndsTheWaitAtOnce() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        let task = Task { try await listener.receive(timeout: 60) { _ in Self.okPage } }
        try await Task.sleep(nanoseconds: 50_000_000)
        let started = Date()
        task.cancel()
        await #expect {
            _ = try await task.value
        } throws: { ($0 as? ReauthFailure)?.code == .cancelled }
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func aPortAnotherProgramHoldsIsNamedInTheError() throws {
        let holder = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/other"))
        defer { holder.close() }
        #expect {
            try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: holder.port, path: "/cb"))
        } throws: { error in
            let failure = error as? ReauthFailure
            return failure?.code == .listenerFailed
                && failure?.message.hasPrefix("port \(holder.port) on 127.0.0.1 is taken by another program") == true
                && failure?.message.contains("http://127.0.0.1/cb") == true
        }
    }

    @Test func aFixedPortIsFreeAgainAfterTheListenerCloses() throws {
        let first = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/cb"))
        let port = first.port
        first.close()
        let second = try LoopbackListener(LoopbackRedirect(host: "localhost", port: port, path: "/cb"))
        defer { second.close() }
        #expect(second.redirectURI == "http://localhost:\(port)/cb")
    }
}

/// What a browser does with a URL: one request, the answer read whole.
enum Browser {
    struct Page {
        var status: Int
        var body: String
        var headers: [String: String]
    }

    static func get(_ address: String, method: String = "GET") async throws -> Page {
        var request = URLRequest(url: URL(string: address)!, timeoutInterval: 10)
        request.httpMethod = method
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        return Page(status: http.statusCode, body: String(decoding: data, as: UTF8.self), headers: headers)
    }

    private static let session = URLSession(configuration: .ephemeral)
}
