import Foundation
#if canImport(Glibc)
    import Glibc
#endif
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
        async let received = listener.receive(timeout: 10) { _ in .finish(Self.okPage) }
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
        async let received = listener.receive(timeout: 10) { _ in .finish(Self.okPage) }
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

    /// A browser's spare connection that sends nothing, and one that stops halfway, are read beside the redirect:
    /// it is answered while they wait. Serving one connection at a time answered the silent one first, after its
    /// 5 s, with an error page; here they get none and are closed when the sign-in ends.
    @Test func silentConnectionsDoNotHoldBackTheRedirect() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        async let received = listener.receive(timeout: 30) { _ in .finish(Self.okPage) }
        let silent = try RawClient(port: listener.port)
        defer { silent.close() }
        let halfway = try RawClient(port: listener.port)
        defer { halfway.close() }
        halfway.send("GET /callback?code=fake-code-half")
        let page = try await Browser.get("\(listener.redirectURI)?code=fake-code-0003&state=s")
        #expect(page.status == 200)
        #expect(try await received["code"] == "fake-code-0003")
        #expect(silent.readToEnd() == "")
        #expect(halfway.readToEnd() == "")
    }

    // Only that it ends, with the time-out: a test run whose other tests keep both threads of the pool busy may
    // resume this one long after the listener gave up, so the wall clock proves nothing here.
    @Test(.timeLimit(.minutes(2))) func aRedirectThatNeverComesTimesOut() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        await #expect {
            _ = try await listener.receive(timeout: 0.3) { _ in .finish(Self.okPage) }
        } throws: { error in
            let failure = error as? ReauthFailure
            return failure?.code == .timedOut && failure?.message.contains("no redirect reached") == true
        }
    }

    @Test func cancellingTheTaskEndsTheWaitAtOnce() async throws {
        let listener = try LoopbackListener(LoopbackRedirect(host: "127.0.0.1", port: 0, path: "/callback"))
        defer { listener.close() }
        let task = Task { try await listener.receive(timeout: 60) { _ in .finish(Self.okPage) } }
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
        // The listener closes every connection after its answer (`Connection: close`); a kept one that the client
        // reused for the next request was sometimes already closed (NSURLErrorNetworkConnectionLost).
        request.setValue("close", forHTTPHeaderField: "Connection")
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

/// A TCP connection to 127.0.0.1 that sends exactly what a test says, and no more.
private final class RawClient {
    let socket: Int32

    init(port: UInt16) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Everything the listener wrote until it closed the connection (within 10 s).
    func readToEnd() -> String {
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &chunk, chunk.count, 0)
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(socket) }
}
