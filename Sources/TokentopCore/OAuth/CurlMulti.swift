import CCurl
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One libcurl multi handle and the thread that drives it: every transfer of a ``CurlTransport`` runs here, side
/// by side, over connections the multi handle keeps open between requests.
final class CurlMulti: @unchecked Sendable {
    // @unchecked Sendable: the multi handle, the easy handles and the running transfers are used only on `thread`;
    // other threads only append to `incoming` under its mutex and call `curl_multi_wakeup`, which libcurl allows
    // from any thread.

    private let multi: UnsafeMutableRawPointer
    private let incoming = Mutex<[CurlTransfer]>([])
    private let stopping = Atomic<Bool>(false)
    /// Whether the thread is about to wait in `curl_multi_poll`; only then does a new transfer wake it (a wake-up
    /// is a write and a read of libcurl's socket pair, and under load the thread is mostly awake anyway).
    private let waiting = Atomic<Bool>(false)
    /// Transfers in flight, by their easy handle's address.
    private var running: [UnsafeMutableRawPointer: CurlTransfer] = [:]
    /// Easy handles kept for the next transfer, so their buffers (and session caches) are reused.
    private var spare: [UnsafeMutableRawPointer] = []
    /// The sockets libcurl opened through `openSocket` and has not closed, each with its connection's ports once
    /// a request went out on it; and the other way round.
    private var sockets: [Int32: Ports?] = [:]
    private var socketsByPorts: [Ports: Int32] = [:]

    /// A TCP connection's local and remote ports: all the pre-request callback tells of its connection. Connections
    /// to two hosts may share both; then one is looked at for the other, which at worst starts a transfer again on a
    /// new connection, or lets one go out on a connection that turns out closed.
    private struct Ports: Hashable {
        let local: Int32
        let remote: Int32
    }

    /// libcurl's global setup, done once before the first handle.
    private static let setUp: Bool = curl_global_init(tokentop_curl_global_default()) == CURLE_OK

    init() throws {
        guard Self.setUp, let multi = curl_multi_init() else {
            throw URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "libcurl could not be initialised"])
        }
        self.multi = multi
        // libcurl keeps four connections per transfer running at the moment, and closes the rest: each lull in a
        // refresh storm closed kept connections that the next burst opened again (1,300 connects in 50,000
        // refreshes at a concurrency of 8).
        _ = tokentop_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
        let thread = Thread { [self] in loop() }
        thread.name = "tokentop-curl"
        thread.start()
    }

    /// Hands `transfer` to the thread.
    func submit(_ transfer: CurlTransfer) {
        incoming.withLock { $0.append(transfer) }
        if waiting.exchange(false, ordering: .sequentiallyConsistent) { curl_multi_wakeup(multi) }
    }

    /// Wakes the thread so it notices a cancelled transfer or a stop.
    func wake() { curl_multi_wakeup(multi) }

    /// Ends the thread; transfers still running fail with `CancellationError`.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        curl_multi_wakeup(multi)
    }

    // MARK: - The thread

    private func loop() {
        while !stopping.load(ordering: .relaxed) {
            for transfer in incoming.withLock({ queue in defer { queue.removeAll() }; return queue }) {
                start(transfer)
            }
            var active: Int32 = 0
            curl_multi_perform(multi, &active)
            collectFinished()
            for (easy, transfer) in running where transfer.cancelled.load(ordering: .relaxed) {
                end(easy, with: .failure(CancellationError()))
            }
            // Said before looking at `incoming`: a transfer submitted after the look sees it and wakes the poll.
            waiting.store(true, ordering: .sequentiallyConsistent)
            if incoming.withLock({ $0.isEmpty }) { curl_multi_poll(multi, nil, 0, 1_000, nil) }
            waiting.store(false, ordering: .sequentiallyConsistent)
        }
        for transfer in incoming.withLock({ $0 }) { transfer.finish(.failure(CancellationError())) }
        for easy in Array(running.keys) { end(easy, with: .failure(CancellationError())) }
        for easy in spare { curl_easy_cleanup(easy) }
        curl_multi_cleanup(multi)
    }

    private func start(_ transfer: CurlTransfer) {
        guard !transfer.cancelled.load(ordering: .relaxed) else {
            return transfer.finish(.failure(CancellationError()))
        }
        guard let easy = spare.popLast() ?? curl_easy_init() else {
            return transfer.finish(.failure(URLError(.unknown, userInfo: [OAuthClient.sentKey: false])))
        }
        running[easy] = transfer
        transfer.multi = self
        attach(easy, transfer)
    }

    /// Sets `easy` up for `transfer` and adds it to the multi; a transfer that cannot start ends with why.
    private func attach(_ easy: UnsafeMutableRawPointer, _ transfer: CurlTransfer) {
        curl_easy_reset(easy)
        do {
            try configure(easy, for: transfer)
        } catch {
            return end(easy, with: .failure(error))
        }
        if curl_multi_add_handle(multi, easy) != CURLM_OK {
            end(easy, with: .failure(URLError(.unknown, userInfo: [OAuthClient.sentKey: false])))
        }
    }

    private func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let transfer = running[easy] else { continue }
            if code == CURLE_OK {
                var status = 0
                _ = tokentop_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                let response = HTTPResponse(status: status, headers: transfer.headers, body: Data(transfer.body))
                end(easy, with: .success(response))
            } else if code == CURLE_ABORTED_BY_CALLBACK, transfer.connectionEnded {
                reconnect(easy, transfer)
            } else {
                let resent = code == CURLE_ABORTED_BY_CALLBACK && transfer.sent
                let error = Self.error(
                    code, tooLarge: transfer.tooLarge, resent: resent, sent: transfer.sent, detail: transfer.errorText,
                    caFile: transfer.certificateAuthorities?.path)
                end(easy, with: .failure(error))
            }
        }
    }

    /// Starts `transfer` again on a new connection: its request never went out on the one the server had closed.
    private func reconnect(_ easy: UnsafeMutableRawPointer, _ transfer: CurlTransfer) {
        curl_multi_remove_handle(multi, easy)
        transfer.connectionEnded = false
        transfer.reconnected = true
        transfer.headers = [:]
        transfer.body = []
        attach(easy, transfer)
    }

    private func end(_ easy: UnsafeMutableRawPointer, with result: Result<HTTPResponse, any Error>) {
        curl_multi_remove_handle(multi, easy)
        // The buffer goes with the transfer; the handle waits for the next one.
        _ = tokentop_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
        let transfer = running.removeValue(forKey: easy)
        transfer?.multi = nil
        spare.append(easy)
        transfer?.finish(result)
    }

    // MARK: - One request

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: CurlTransfer) throws {
        let request = transfer.request
        var failed = false
        func check(_ code: CURLcode) { if code != CURLE_OK { failed = true } }
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_URL, request.url.absoluteString))
        // Token requests carry the client's credentials: never to another scheme, never after a redirect.
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(tokentop_curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0))
        check(tokentop_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(tokentop_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, transfer.timeoutMilliseconds))
        check(tokentop_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, transfer.connectTimeoutMilliseconds))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_USERAGENT, "tokentop"))
        transfer.errorBuffer.initialize(repeating: 0)
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer.baseAddress))
        // HTTP/1.1, one request at a time on a connection: `sendOnce` judges a connection by what waits on it
        // before a request, which under HTTP/2 may be another request's answer or the server's settings.
        check(tokentop_curl_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        // After a kept connection turned out closed, a new one: any other kept one may be closed as well.
        if transfer.reconnected { check(tokentop_curl_setopt_long(easy, CURLOPT_FRESH_CONNECT, 1)) }
        if let authorities = transfer.certificateAuthorities, let bytes = authorities.pointer {
            // Not copied: the transfer keeps the bytes until it ends, and libcurl copies them into a connection
            // it keeps, which it then reuses only for the same certificates.
            var blob = curl_blob(data: bytes, len: authorities.byteCount, flags: UInt32(CURL_BLOB_NOCOPY))
            check(tokentop_curl_setopt_pointer(easy, CURLOPT_CAINFO_BLOB, &blob))
        }
        if let old = transfer.headerList { curl_slist_free_all(old) }
        var list: UnsafeMutablePointer<curl_slist>?
        // An empty `Expect:` stops libcurl from waiting for `100 Continue` before a larger body.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            list = curl_slist_append(list, line)
        }
        transfer.headerList = list
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_HTTPHEADER, list))
        switch request.method.uppercased() {
        case "GET" where request.body.isEmpty:
            check(tokentop_curl_setopt_long(easy, CURLOPT_HTTPGET, 1))
        default:
            if request.method.uppercased() != "POST" {
                check(tokentop_curl_setopt_pointer(easy, CURLOPT_CUSTOMREQUEST, request.method))
            }
            check(tokentop_curl_setopt_long(easy, CURLOPT_POST, 1))
            check(tokentop_curl_setopt_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count))
            // Copied, so that a small body leaves in the same packet as the request line and headers. Never
            // NULL: libcurl would read the body from standard input.
            request.body.withUnsafeBytes { body in
                check(tokentop_curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, body.baseAddress ?? Self.noBody))
            }
        }
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        // libcurl calls this before each time it sends the request (see `sendOnce`).
        check(tokentop_curl_setopt_prereq(easy, Self.sendOnce))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_PREREQDATA, context))
        // Connections outlive transfers in libcurl's cache: their sockets are opened and closed under the multi.
        let owner = Unmanaged.passUnretained(self).toOpaque()
        check(tokentop_curl_setopt_open_socket(easy, Self.openSocket))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_OPENSOCKETDATA, owner))
        check(tokentop_curl_setopt_close_socket(easy, Self.closeSocket))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_CLOSESOCKETDATA, owner))
        check(tokentop_curl_setopt_callback(easy, CURLOPT_WRITEFUNCTION, Self.receiveBody))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        check(tokentop_curl_setopt_callback(easy, CURLOPT_HEADERFUNCTION, Self.receiveHeader))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        if failed {
            throw URLError(
                .unsupportedURL,
                userInfo: [
                    NSLocalizedDescriptionKey: "libcurl refused the request's options", OAuthClient.sentKey: false,
                ])
        }
    }

    private static var noBody: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }

    /// Sends a token request once, and never into a connection the server has closed.
    ///
    /// When a kept connection dies after the request went out and before any answer, libcurl sends the request
    /// again at once, up to five times over other kept connections. A token request must not be repeated behind the
    /// refresh policy's back: the provider may have rotated the refresh token on the first. So a second call fails
    /// the transfer, and the policy decides. Servers close idle connections, though (after a minute or so), and
    /// this libcurl reuses a TLS connection whose server sent its close alert and closed it; a request sent there
    /// may or may not be read (a server may still read after closing its side). So before the request, a kept
    /// connection whose server's close has arrived is given up, and the transfer starts again on a new one.
    private static let sendOnce: tokentop_curl_prereq_callback = { context, _, _, remotePort, localPort in
        guard let context else { return Int32(CURL_PREREQFUNC_ABORT) }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        guard !transfer.sent else { return Int32(CURL_PREREQFUNC_ABORT) }
        if !transfer.reconnected, let socket = transfer.multi?.socket(of: Ports(local: localPort, remote: remotePort)),
            CurlMulti.hasEnded(socket)
        {
            transfer.connectionEnded = true
            return Int32(CURL_PREREQFUNC_ABORT)
        }
        transfer.sent = true
        return Int32(CURL_PREREQFUNC_OK)
    }

    private static let openSocket: tokentop_curl_open_socket_callback = { context, _, address in
        guard let context, let address else { return CURL_SOCKET_BAD }
        let multi = Unmanaged<CurlMulti>.fromOpaque(context).takeUnretainedValue()
        var (family, type, proto): (Int32, Int32, Int32) = (0, 0, 0)
        tokentop_curl_socket_wanted(address, &family, &type, &proto)
        let socket = Glibc.socket(family, type, proto)
        guard socket >= 0 else { return socket }
        // Close-on-exec: event commands the daemon runs inherit no provider connection.
        _ = fcntl(socket, F_SETFD, FD_CLOEXEC)
        multi.sockets[socket] = .some(nil)
        return socket
    }

    private static let closeSocket: tokentop_curl_close_socket_callback = { context, socket in
        if let context {
            let multi = Unmanaged<CurlMulti>.fromOpaque(context).takeUnretainedValue()
            if case .some(.some(let ports)) = multi.sockets.removeValue(forKey: socket) {
                multi.socketsByPorts[ports] = nil
            }
        }
        return close(socket)
    }

    /// The socket of the connection with `ports`; the ports of sockets not yet asked are looked up now.
    private func socket(of ports: Ports) -> Int32? {
        if let socket = socketsByPorts[ports] { return socket }
        for (socket, known) in sockets where known == nil {
            guard let local = Self.port(of: socket, getsockname), let remote = Self.port(of: socket, getpeername)
            else { continue }
            let found = Ports(local: local, remote: remote)
            sockets[socket] = found
            socketsByPorts[found] = socket
        }
        return socketsByPorts[ports]
    }

    /// The port of a TCP socket's own end (`getsockname`) or its peer's (`getpeername`); nil while not connected.
    private static func port(
        of socket: Int32, _ name: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) -> Int32? {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { name(socket, $0, &length) }
        }
        guard named == 0 else { return nil }
        // IPv4 and IPv6 addresses keep the port at the same place, after the family.
        let port = withUnsafeBytes(of: &address) { $0.load(fromByteOffset: 2, as: UInt16.self) }
        return Int32(UInt16(bigEndian: port))
    }

    /// Whether the peer has closed an idle connection: its end of file (a FIN) or a reset has arrived.
    ///
    /// Bytes waiting are no sign: a TLS 1.3 server sends key updates and session tickets on a connection it keeps
    /// using, and its close alert looks like them; the close that follows the alert is what counts.
    private static func hasEnded(_ socket: Int32) -> Bool {
        var watch = pollfd(fd: socket, events: pollPeerClosed, revents: 0)
        guard poll(&watch, 1, 0) == 1 else { return false }
        return Int32(watch.revents) & (Int32(pollPeerClosed) | POLLHUP | POLLERR) != 0
    }

    /// Linux's `POLLRDHUP`, the peer's end of file even behind unread bytes; Glibc declares it for C only.
    private static let pollPeerClosed: Int16 = 0x2000

    private static let receiveBody: tokentop_curl_data_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        guard transfer.body.count + length <= CurlTransfer.bodyLimit else {
            transfer.tooLarge = true
            return 0
        }
        transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        return length
    }

    private static let receiveHeader: tokentop_curl_data_callback = { data, size, count, context in
        guard let data, let context else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: length))
        return length
    }

    /// The `URLError` that says the same as libcurl's `code`, so that ``OAuthClient`` words every transport's
    /// failures alike.
    /// - Parameter resent: whether libcurl was about to send the request again (see `sendOnce`).
    /// - Parameter sent: whether the request went out at all (see `sendOnce`); false when libcurl failed before it
    ///   (resolving, connecting, the TLS handshake), so that the provider cannot have acted on it.
    /// - Parameter detail: libcurl's own words for this transfer (its error buffer), which name the reason (for
    ///   TLS: an unknown issuer, an expired certificate, another host's name); its generic words for `code` else.
    /// - Parameter caFile: the file of authorities the transfer trusted besides the system's, named in a refused
    ///   certificate's error.
    static func error(
        _ code: CURLcode, tooLarge: Bool = false, resent: Bool = false, sent: Bool = true, detail: String = "",
        caFile: String? = nil
    ) -> URLError {
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : SafeText.clean(detail)
        var info: [String: Any] = [NSLocalizedDescriptionKey: "libcurl: \(reason)", OAuthClient.sentKey: sent]
        if let caFile { info[OAuthClient.caFileKey] = caFile }
        if tooLarge { return URLError(.dataLengthExceedsMaximum, userInfo: info) }
        if resent {
            return URLError(
                .networkConnectionLost,
                userInfo: [
                    NSLocalizedDescriptionKey: "libcurl: the connection closed before an answer came",
                    OAuthClient.sentKey: true,
                ])
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT: return URLError(.timedOut, userInfo: info)
        case CURLE_COULDNT_CONNECT: return URLError(.cannotConnectToHost, userInfo: info)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: return URLError(.cannotFindHost, userInfo: info)
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE:
            return URLError(.networkConnectionLost, userInfo: info)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE:
            return URLError(.serverCertificateUntrusted, userInfo: info)
        case CURLE_SSL_CONNECT_ERROR: return URLError(.secureConnectionFailed, userInfo: info)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return URLError(.unsupportedURL, userInfo: info)
        default: return URLError(.unknown, userInfo: info)
        }
    }
}
