import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A one-shot HTTP listener on 127.0.0.1 that receives the authorization server's redirect (RFC 8252 §7.3).
///
/// It binds before the authorization URL is shown, so a taken port fails at once rather than after the user
/// signed in. It answers stray requests (a favicon, a wrong path) with an error page and keeps waiting. A request to
/// the redirect path goes to the caller, which either takes it, ending the wait, or has it ignored: any program on
/// this machine can reach the port, so a request the caller does not recognise (another `state`, or none) must not
/// end the sign-in. Ignored requests are counted, and a time-out says how many came. Several connections are read at
/// once. Socket calls run on a thread of their own, polling in slices of at most 100 ms, so a cancellation or the
/// deadline is noticed promptly.
final class LoopbackListener: Sendable {
    /// What the listener answers the browser.
    struct Page: Sendable, Equatable {
        var status: Int
        var html: String
    }

    /// What the listener does with a request to the redirect path that carries a code or an error.
    enum Reply: Sendable, Equatable {
        /// The redirect the sign-in waits for: answer with the page, and end the wait with its parameters.
        case finish(Page)
        /// Not the redirect the sign-in waits for: answer with the page, count the request under `reason` (a
        /// phrase that follows "requests", such as "with another state") and keep waiting.
        case ignore(Page, reason: String)
    }

    /// The port bound, which the kernel picked unless the redirect URI named one.
    let port: UInt16
    /// The redirect URI to send to the provider: `http://127.0.0.1:PORT/PATH`.
    let redirectURI: String
    private let path: String
    private let socket: Int32
    /// Whether the socket was closed, and whether the wait was cancelled.
    private let flags = Mutex<(closed: Bool, cancelled: Bool)>((false, false))

    private typealias Outcome = Result<[String: String], ReauthFailure>

    /// The longest request line and headers read; a redirect is a few hundred bytes.
    static let maximumRequestLength = 16_384

    /// Binds 127.0.0.1 at the redirect's port and listens.
    /// - Throws: ``ReauthFailure`` with `listenerFailed` when the port is taken or the socket cannot be made.
    init(_ redirect: LoopbackRedirect) throws(ReauthFailure) {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("cannot create a socket", port: redirect.port) }
        var reuse: Int32 = 1
        // Lets a fixed port be bound again at once after an earlier sign-in; a port another program listens on
        // still fails with EADDRINUSE.
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = redirect.port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw Self.bindFailure(errno: code, redirect: redirect)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            let failure = Self.failure("cannot read the port the kernel picked", port: redirect.port)
            Glibc.close(fd)
            throw failure
        }
        socket = fd
        port = UInt16(bigEndian: address.sin_port)
        path = redirect.path
        redirectURI = redirect.uri(boundPort: port)
    }

    deinit { close() }

    /// Stops listening; safe to call more than once.
    func close() {
        let wasOpen = flags.withLock { flags in
            defer { flags.closed = true }
            return !flags.closed
        }
        if wasOpen { Glibc.close(socket) }
    }

    /// Makes a running ``receive(timeout:answer:)`` end with `cancelled` within 100 ms.
    func cancel() {
        flags.withLock { $0.cancelled = true }
    }

    /// Waits for the redirect and returns its query parameters.
    ///
    /// - Parameters:
    ///   - timeout: seconds to wait for the browser.
    ///   - answer: what to do with a request to the redirect path that carries a code or an error; called for
    ///     each such request until one is taken.
    /// - Throws: ``ReauthFailure`` with `timedOut` (saying how many requests were ignored), `cancelled` (also
    ///   when the task is cancelled) or `listenerFailed`.
    func receive(
        timeout: Double, answer: @escaping @Sendable ([String: String]) -> Reply
    ) async throws(ReauthFailure) -> [String: String] {
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let thread = Thread { continuation.resume(returning: self.serve(timeout: timeout, answer: answer)) }
                thread.name = "tokentop loopback listener"
                thread.start()
            }
        } onCancel: {
            cancel()
        }
        return try result.get()
    }

    // MARK: - Serving

    private func serve(timeout: Double, answer: @Sendable ([String: String]) -> Reply) -> Outcome {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(max(0, timeout) * 1000)))
        // Browsers open spare connections and send nothing on them: each is read as its bytes come, beside the
        // others, so a silent one never holds back the redirect.
        var clients: [Client] = []
        var ignored = Ignored()
        defer { for client in clients { Glibc.close(client.socket) } }
        while true {
            let (closed, cancelled) = flags.withLock { ($0.closed, $0.cancelled) }
            if cancelled || closed {
                return .failure(ReauthFailure(.cancelled, "the sign-in was cancelled; nothing was stored"))
            }
            let now = clock.now
            let left = now.duration(to: deadline)
            guard left > .zero else {
                let meanwhile = ignored.sentence.map {
                    "; \($0) there (a browser tab left from an earlier sign-in, or another program on this machine)"
                }
                return .failure(
                    ReauthFailure(
                        .timedOut,
                        "no redirect reached \(redirectURI) within \(Countdown.format(seconds: timeout))"
                            + (meanwhile ?? "")
                            + "; nothing was stored; run the re-auth again and finish the sign-in sooner"))
            }
            // A connection that sent no whole request within its time gets the error page, as a garbled one does.
            for client in clients where client.deadline <= now {
                Self.respond(client.socket, Page(status: 400, html: Self.page(title: "Bad request", text: "")))
                Glibc.close(client.socket)
            }
            clients.removeAll { $0.deadline <= now }
            var descriptors = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0)]
            descriptors += clients.map { pollfd(fd: $0.socket, events: Int16(POLLIN), revents: 0) }
            let slice = Int32(min(100, max(1, (left / .milliseconds(1)).rounded(.up))))
            let ready = poll(&descriptors, nfds_t(descriptors.count), slice)
            if ready < 0, errno != EINTR {
                return .failure(Self.failure("waiting for the browser failed", port: port))
            }
            guard ready > 0 else { continue }
            var finished: [Int] = []
            for index in clients.indices where descriptors[index + 1].revents != 0 {
                guard clients[index].read() else { continue }
                finished.append(index)
            }
            for index in finished.reversed() {
                let client = clients.remove(at: index)
                defer { Glibc.close(client.socket) }
                if let outcome = handle(client, answer: answer, ignored: &ignored) { return outcome }
            }
            if descriptors[0].revents & Int16(POLLIN) != 0 {
                // accept4 is hidden behind _GNU_SOURCE in Glibc's module; set close-on-exec right after.
                let accepted = accept(socket, nil, nil)
                guard accepted >= 0 else { continue }
                _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
                _ = fcntl(accepted, F_SETFL, fcntl(accepted, F_GETFL) | O_NONBLOCK)
                if clients.count >= Self.maximumClients {
                    // Something floods the port: the oldest silent connection makes room.
                    Glibc.close(clients.removeFirst().socket)
                }
                clients.append(Client(socket: accepted, deadline: clock.now.advanced(by: .seconds(5))))
            }
        }
    }

    /// Answers one whole request; the redirect's parameters end the wait when `answer` takes them, anything else
    /// gets an error page.
    private func handle(
        _ client: Client, answer: @Sendable ([String: String]) -> Reply, ignored: inout Ignored
    ) -> Outcome? {
        // The answer is written with blocking sends: a page is a few hundred bytes.
        _ = fcntl(client.socket, F_SETFL, fcntl(client.socket, F_GETFL) & ~O_NONBLOCK)
        guard let request = Self.requestLine(client.received) else {
            Self.respond(client.socket, Page(status: 400, html: Self.page(title: "Bad request", text: "")))
            return nil
        }
        guard request.method == "GET" else {
            Self.respond(client.socket, Page(status: 405, html: Self.page(title: "Method not allowed", text: "")))
            return nil
        }
        guard request.path == path else {
            let text = "tokentop waits for the sign-in at \(path), not here."
            Self.respond(client.socket, Page(status: 404, html: Self.page(title: "Not found", text: text)))
            return nil
        }
        let pairs = FormEncoding.pairs(Data(request.query.utf8))
        var seen: Set<String> = []
        if let repeated = pairs.first(where: { !seen.insert($0.name).inserted })?.name {
            // RFC 6749 §3.1: no parameter appears twice. Which `code` or `state` would count is anyone's guess, so
            // none does, and the sign-in goes on. The page names the parameter, never a value.
            let name = SafeText.clean(String(repeated.prefix(40)))
            let text =
                "This redirect carries the parameter \(name) more than once, which OAuth forbids; tokentop keeps "
                + "waiting for the sign-in it started."
            Self.respond(client.socket, Page(status: 400, html: Self.page(title: "Repeated parameter", text: text)))
            ignored.add("repeating a parameter")
            return nil
        }
        let query = FormEncoding.decode(Data(request.query.utf8))
        guard query["code"] != nil || query["error"] != nil else {
            // A stale tab or a browser's prefetch, not the provider's redirect: the sign-in goes on.
            let text = "This page waits for the provider to send you back after you sign in."
            let page = Page(status: 400, html: Self.page(title: "Nothing to sign in with", text: text))
            Self.respond(client.socket, page)
            ignored.add("without a code or an error")
            return nil
        }
        switch answer(query) {
        case .finish(let page):
            Self.respond(client.socket, page)
            return .success(query)
        case .ignore(let page, let reason):
            Self.respond(client.socket, page)
            ignored.add(reason)
            return nil
        }
    }

    /// The requests to the redirect path that did not end the wait, counted by why.
    private struct Ignored {
        private var counts: [(reason: String, count: Int)] = []

        mutating func add(_ reason: String) {
            if let index = counts.firstIndex(where: { $0.reason == reason }) {
                counts[index].count += 1
            } else {
                counts.append((reason, 1))
            }
        }

        /// "2 requests with another state and 1 without a state were ignored"; nil when none was.
        var sentence: String? {
            guard let first = counts.first else { return nil }
            let parts =
                ["\(first.count) \(first.count == 1 ? "request" : "requests") \(first.reason)"]
                + counts.dropFirst().map { "\($0.count) \($0.reason)" }
            let listed =
                parts.count == 1
                ? parts[0] : parts.dropLast().joined(separator: ", ") + " and " + parts[parts.count - 1]
            let total = counts.reduce(0) { $0 + $1.count }
            return listed + (total == 1 ? " was ignored" : " were ignored")
        }
    }

    /// Connections served at once; a browser opens a few.
    static let maximumClients = 16

    /// One accepted connection and what it sent so far.
    private struct Client {
        let socket: Int32
        /// When it must have sent its whole request line and headers.
        let deadline: ContinuousClock.Instant
        var received: [UInt8] = []

        /// Reads what has arrived; true once the request is whole, the peer stopped sending, or it sent too much.
        mutating func read() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 4096)
            while received.count < LoopbackListener.maximumRequestLength {
                let count = recv(socket, &chunk, chunk.count, 0)
                if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }
                guard count > 0 else { return true }
                received += chunk[0..<count]
                // The headers end with an empty line; a redirect has no body.
                if String(decoding: received, as: UTF8.self).contains("\r\n\r\n") { return true }
            }
            return true
        }
    }

    /// The method, path and query of a request's first line; nil for anything that is not HTTP/1.
    private static func requestLine(_ received: [UInt8]) -> (method: String, path: String, query: String)? {
        guard let lineEnd = received.firstIndex(of: 13) ?? received.firstIndex(of: 10) else { return nil }
        let line = String(decoding: received[..<lineEnd], as: UTF8.self)
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1.") else { return nil }
        let target = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts[0]), String(target[0]), target.count > 1 ? String(target[1]) : "")
    }

    /// Writes one answer and closes the exchange; a browser that went away is ignored.
    private static func respond(_ client: Int32, _ page: Page) {
        let body = Array(page.html.utf8)
        let reason = [200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"]
        let head =
            "HTTP/1.1 \(page.status) \(reason[page.status] ?? "Error")\r\n"
            + "Content-Type: text/html; charset=utf-8\r\nContent-Length: \(body.count)\r\n"
            // The address bar held the code: keep it out of caches and out of any Referer header.
            + "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a browser that closed the connection must not kill tokentop with SIGPIPE.
            let count = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
        shutdown(client, Int32(SHUT_WR))
    }

    /// A small HTML page; `text` is escaped.
    static func page(title: String, text: String) -> String {
        func escape(_ value: String) -> String {
            value.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>tokentop: \(escape(title))</title></head>
            <body style="font-family: sans-serif; margin: 3em;"><h1>\(escape(title))</h1><p>\(escape(text))</p>
            </body></html>

            """
    }

    // MARK: - Errors

    private static func bindFailure(errno code: Int32, redirect: LoopbackRedirect) -> ReauthFailure {
        let reason = String(cString: strerror(code))
        switch code {
        case EADDRINUSE:
            return ReauthFailure(
                .listenerFailed,
                "port \(redirect.port) on 127.0.0.1 is taken by another program, so the browser could not come "
                    + "back to \(redirect.uri(boundPort: redirect.port)) (\(reason)); stop that program, or register "
                    + "a redirect_uri without a port (http://127.0.0.1\(redirect.path)) so that any free port works")
        case EACCES:
            return ReauthFailure(
                .listenerFailed,
                "not allowed to listen on port \(redirect.port) of 127.0.0.1 (\(reason)); register a redirect_uri "
                    + "with a port above 1023, or without a port")
        default:
            return ReauthFailure(
                .listenerFailed, "cannot listen on 127.0.0.1 port \(redirect.port) for the sign-in redirect: \(reason)")
        }
    }

    /// A socket call that failed; reads `errno` at once, before anything else can change it.
    private static func failure(_ what: String, port: UInt16) -> ReauthFailure {
        let reason = String(cString: strerror(errno))
        return ReauthFailure(
            .listenerFailed,
            "\(what) for the sign-in redirect on 127.0.0.1 port \(port): \(reason); nothing was stored")
    }
}
