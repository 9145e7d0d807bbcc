import Foundation

/// A small HTTP/1.1 server on 127.0.0.1 and a port the kernel picks, answering the prober as an API would.
///
/// It runs in the test process on threads of its own and records every request it reads. Paths:
/// - `/check`: 200 when the request carries the accepted key (as a bearer token, in any header, or in any query
///   parameter) or the accepted `user:password` as basic auth; otherwise 401 with a JSON message that quotes what
///   was presented, as careless APIs do, so the tests can see that the product scrubs it.
/// - `/forbidden`: 403 with a JSON message. `/error`: 500 with a plain-text line.
/// - `/redirect`: 302 to `/check` on this server (a prober must not follow it).
/// - `/slow`: reads the request and never answers, until the server stops.
final class ProbeServer: @unchecked Sendable {
    // @unchecked Sendable: the listening socket is fixed after init, and every mutable field is read and written
    // under `lock` only.

    /// One request as the server read it.
    struct Request: Sendable {
        let method: String
        let path: String
        /// The query string, still percent-encoded; empty when there is none.
        let query: String
        /// Header fields with lower-cased names.
        let headers: [String: String]
    }

    let port: Int
    private let listener: Int32
    private let acceptedKey: String
    private let acceptedBasic: String
    private let lock = NSLock()
    private var seen: [Request] = []
    private var held: [Int32] = []
    private var stopped = false
    /// Run once, on the server's thread, when the next `/slow` request is held.
    private var onHold: (@Sendable () -> Void)?

    /// `http://127.0.0.1:PORT`.
    var base: String { "http://127.0.0.1:\(port)" }

    /// Every request read so far, oldest first.
    var requests: [Request] { lock.withLock { seen } }

    /// How many `/slow` requests are held open right now: sent, read, and not answered.
    var holding: Int { lock.withLock { held.count } }

    /// Runs `action` on the server's own thread the moment a `/slow` request is held (at once when one is held
    /// already): a test whose tasks wait for a busy pool may not look until the client's own time limit ended it.
    func whenHolding(_ action: @escaping @Sendable () -> Void) {
        let already = lock.withLock { () -> Bool in
            if held.isEmpty { onHold = action }
            return !held.isEmpty
        }
        if already { action() }
    }

    /// Starts listening.
    /// - Parameters:
    ///   - acceptedKey: the API key `/check` accepts.
    ///   - acceptedBasic: the `user:password` `/check` accepts as basic auth.
    init(acceptedKey: String, acceptedBasic: String) throws {
        self.acceptedKey = acceptedKey
        self.acceptedBasic = acceptedBasic
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw ServerError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socket, 32) == 0 else {
            close(socket)
            throw ServerError("cannot listen on 127.0.0.1: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        listener = socket
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// Stops listening and closes every connection it holds open.
    func stop() {
        let toClose: [Int32] = lock.withLock {
            guard !stopped else { return [] }
            stopped = true
            defer { held.removeAll() }
            return held
        }
        // shutdown wakes the thread blocked in accept().
        shutdown(listener, Int32(SHUT_RDWR))
        for socket in toClose { close(socket) }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { break }
                continue
            }
            // A thread per client, not the global queue: an answer must not wait for a pool thread to come free.
            Thread.detachNewThread { [self] in serve(client) }
        }
        close(listener)
    }

    private func serve(_ client: Int32) {
        var buffer = [UInt8](repeating: 0, count: 8192)
        var data = Data()
        while !data.contains(Data("\r\n\r\n".utf8)), data.count < 65_536 {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        guard let request = Self.parse(data) else {
            close(client)
            return
        }
        lock.withLock { seen.append(request) }
        switch request.path {
        case "/slow":
            let (keep, action) = lock.withLock { () -> (Bool, (@Sendable () -> Void)?) in
                guard !stopped else { return (false, nil) }
                held.append(client)
                defer { onHold = nil }
                return (true, onHold)
            }
            if !keep { close(client) }
            action?()
            return
        case "/check":
            if isAccepted(request) {
                respond(client, 200, "application/json", #"{"ok":true,"org":"fake-org"}"#)
            } else {
                let presented = request.headers["authorization"] ?? request.headers["x-api-key"] ?? request.query
                respond(
                    client, 401, "application/json",
                    #"{"error":"invalid_api_key","message":"Invalid API key provided: \#(presented)"}"#)
            }
        case "/forbidden":
            respond(client, 403, "application/json", #"{"message":"This key lacks the permission to read."}"#)
        case "/error":
            respond(client, 500, "text/plain", "internal error\nstack trace follows")
        case "/redirect":
            respond(client, 302, "text/plain", "moved", extra: "Location: \(base)/check\r\n")
        default:
            respond(client, 404, "text/plain", "not found")
        }
    }

    private func isAccepted(_ request: Request) -> Bool {
        let basic = "Basic " + Data(acceptedBasic.utf8).base64EncodedString()
        if request.headers.values.contains(where: { $0 == acceptedKey || $0 == "Bearer \(acceptedKey)" || $0 == basic })
        {
            return true
        }
        return request.query.split(separator: "&").contains { pair in
            pair.split(separator: "=", maxSplits: 1).last.flatMap { String($0).removingPercentEncoding } == acceptedKey
        }
    }

    private func respond(_ client: Int32, _ status: Int, _ type: String, _ body: String, extra: String = "") {
        let reasons = [200: "OK", 302: "Found", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"]
        let bytes = Array(body.utf8)
        let head =
            "HTTP/1.1 \(status) \(reasons[status] ?? "Internal Server Error")\r\nContent-Type: \(type)\r\n"
            + "Content-Length: \(bytes.count)\r\n\(extra)Connection: close\r\n\r\n"
        let all = Array(head.utf8) + bytes
        var offset = 0
        while offset < all.count {
            let written = all[offset...].withUnsafeBufferPointer { write(client, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
        close(client)
    }

    private static func parse(_ data: Data) -> Request? {
        guard let end = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2 else { return nil }
        let target = String(parts[1])
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
        let query = target.contains("?") ? String(target.split(separator: "?", maxSplits: 1)[1]) : ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
                .trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(parts[0]), path: path, query: query, headers: headers)
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
