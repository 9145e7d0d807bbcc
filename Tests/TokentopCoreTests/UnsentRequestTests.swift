import Foundation
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif
import Testing

@testable import TokentopCore

/// A request that never reached the provider (no connection, no TLS handshake) cannot have rotated a refresh token;
/// one that went out and got no answer may have. Only the second explains a later `invalid_grant` as a lost rotation
/// and is retried inside the provider's grace window. Real sockets on 127.0.0.1 and tokentop's libcurl transport.
@Suite(.serialized) struct UnsentRequestTests {
    let clock = TestClock()
    /// Backoff well past Okta's documented grace window (a third of 30 s), so that a quick retry shows.
    let policy = RefreshPolicy(backoffBase: 60)

    /// An engine on a fresh store with one Okta connection whose token URL is on `port` of 127.0.0.1.
    func makeEngine(port: UInt16) throws -> (Engine, Store) {
        let store = try oneConnectionStore(
            integration: "okta", tokenURL: "http://127.0.0.1:\(port)/token", connection: "ursula", at: clock.now())
        let transport = try CurlTransport(timeout: 10, connectTimeout: 5)
        return (try Engine(store: store, transport: transport, timeSource: clock, policy: policy), store)
    }

    @Test func aRefusedConnectionThenInvalidGrantIsAPlainRefusal() async throws {
        let endpoint = try TokenEndpoint()
        defer { endpoint.close() }
        let (engine, _) = try makeEngine(port: endpoint.port)
        // Bound but not listening: the connection is refused, as on a host where nothing listens.
        let first = try await engine.refreshNow("ursula")
        let error = try #require(first.lastError)
        #expect(error.error == "network_error")
        #expect(error.requestSent == false)
        #expect(error.errorDescription?.hasPrefix("could not connect to 127.0.0.1:\(endpoint.port) (libcurl: ") == true)
        #expect(error.errorDescription?.hasSuffix("; the request was not sent") == true)
        #expect(first.status(at: clock.now(), policy: policy) == .failing)
        // Nothing to replay inside a grace window: the plain backoff.
        let delay = try #require(first.retryAt).timeIntervalSince(clock.now())
        #expect(delay >= 45)
        #expect(endpoint.requests == 0)

        endpoint.listen([.answer(status: 400, body: #"{"error":"invalid_grant"}"#)])
        let second = try await engine.refreshNow("ursula")
        #expect(endpoint.requests == 1)
        #expect(second.status(at: clock.now(), policy: policy) == .needsReauth)
        #expect(second.reauthReason == "the provider refused the grant: invalid_grant (HTTP 400)")
        let history = try engine.store.history(connectionID: "ursula", limit: 10)
        #expect(history.contains { $0.message.contains("; the request was not sent") })
    }

    @Test func anUnansweredRequestThenInvalidGrantIsALostRotation() async throws {
        let endpoint = try TokenEndpoint()
        defer { endpoint.close() }
        endpoint.listen([.hangUp, .answer(status: 400, body: #"{"error":"invalid_grant"}"#)])
        let (engine, _) = try makeEngine(port: endpoint.port)
        let first = try await engine.refreshNow("ursula")
        #expect(endpoint.requests == 1, "the request arrived, and the server closed without answering")
        let error = try #require(first.lastError)
        #expect(error.error == "network_error")
        #expect(error.requestSent == nil)
        #expect(error.errorDescription == "the connection was lost before the answer arrived")
        // Okta's grace window replays the same refresh token for 30 s: retried within a third of it.
        #expect(try #require(first.retryAt).timeIntervalSince(clock.now()) == 10)

        let second = try await engine.refreshNow("ursula")
        #expect(second.status(at: clock.now(), policy: policy) == .needsReauth)
        #expect(
            second.reauthReason?.hasPrefix(
                "the provider refused the refresh token after an earlier request got no answer; it probably rotated "
                    + "the token and the answer carrying the new one was lost") == true)
    }
}

/// Fails each request as told: the first with no answer after it was read, or before it could be sent.
private final class ScriptedFailures: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `failures` is only touched under `lock`.
    private let lock = NSLock()
    private var failures: [URLError]

    init(_ failures: [URLError]) { self.failures = failures }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if let failure = lock.withLock({ failures.isEmpty ? nil : failures.removeFirst() }) { throw failure }
        return HTTPResponse(status: 400, body: Data(#"{"error":"invalid_grant"}"#.utf8))
    }
}

@Suite struct LostAnswerThenUnsentTests {
    /// A lost answer, then requests that never left (a refused connection, a name that does not resolve): the
    /// provider may still hold the token it rotated in the lost answer, and the refusal says so.
    @Test func anUnsentRequestKeepsAnEarlierLostAnswersExplanation() async throws {
        let clock = TestClock()
        let store = try oneConnectionStore(
            integration: "lossy", tokenURL: "https://lossy.example/token", connection: "lossy-1", at: clock.now())
        let transport = ScriptedFailures([
            URLError(.networkConnectionLost), URLError(.cannotConnectToHost), URLError(.cannotFindHost),
        ])
        let engine = try Engine(store: store, transport: transport, timeSource: clock)
        let lost = try await engine.refreshNow("lossy-1")
        #expect(lost.lastError?.answerMayBeLost == true)
        let refused = try await engine.refreshNow("lossy-1")
        #expect(refused.lastError?.requestSent == false)
        #expect(refused.lastError?.earlierAnswerLost == true)
        let unresolved = try await engine.refreshNow("lossy-1")
        #expect(unresolved.lastError?.errorDescription == "could not resolve lossy.example; the request was not sent")
        #expect(unresolved.lastError?.earlierAnswerLost == true)
        let refusal = try await engine.refreshNow("lossy-1")
        #expect(refusal.status(at: clock.now(), policy: .standard) == .needsReauth)
        #expect(refusal.reauthReason?.contains("the answer carrying the new one was lost") == true)
    }
}

/// A token endpoint on 127.0.0.1, bound at once and listening only from ``listen(_:)`` on: until then a
/// connection to its port is refused. Each connection gets the next reply once its whole request has arrived.
private final class TokenEndpoint: @unchecked Sendable {
    // @unchecked Sendable: `socket` and `port` are set once in `init`; the replies and the count are in a Mutex.
    enum Reply: Sendable {
        /// Close the connection without a word.
        case hangUp
        case answer(status: Int, body: String)
    }

    let socket: Int32
    let port: UInt16
    private let state = Mutex<(replies: [Reply], requests: Int)>(([], 0))

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.socket = socket
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        guard socket >= 0, bound else { throw POSIXError(.EADDRNOTAVAIL) }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Requests read in whole so far.
    var requests: Int { state.withLock { $0.requests } }

    /// Starts listening, and answers connections with `replies` in turn on a thread of its own.
    func listen(_ replies: [Reply]) {
        state.withLock { $0.replies = replies }
        Glibc.listen(socket, 8)
        let thread = Thread { [self] in
            while true {
                let connection = accept(socket, nil, nil)
                guard connection >= 0 else { return }
                serve(connection)
            }
        }
        thread.start()
    }

    private func serve(_ connection: Int32) {
        defer { Glibc.close(connection) }
        var limit = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !Self.complete(received) {
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return }
            received += chunk[0..<count]
        }
        let reply = state.withLock { state -> Reply in
            state.requests += 1
            return state.replies.isEmpty ? .hangUp : state.replies.removeFirst()
        }
        guard case .answer(let status, let body) = reply else { return }
        let text =
            "HTTP/1.1 \(status) Answer\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether `bytes` hold a request's headers and as much body as its Content-Length says.
    private static func complete(_ bytes: [UInt8]) -> Bool {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let header = text[..<end.lowerBound].split(separator: "\r\n").first {
            $0.lowercased().hasPrefix("content-length:")
        }
        let length = header.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) }
        return text.utf8.count - text[..<end.upperBound].utf8.count >= (length ?? 0)
    }

    /// Stops listening; the thread's `accept` returns.
    func close() {
        shutdown(socket, Int32(SHUT_RDWR))
        Glibc.close(socket)
    }
}
