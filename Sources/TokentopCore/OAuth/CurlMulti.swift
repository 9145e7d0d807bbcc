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

    /// libcurl's global setup, done once before the first handle.
    private static let setUp: Bool = curl_global_init(tokentop_curl_global_default()) == CURLE_OK

    init() throws {
        guard Self.setUp, let multi = curl_multi_init() else {
            throw URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "libcurl could not be initialised"])
        }
        self.multi = multi
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
            return transfer.finish(.failure(URLError(.unknown)))
        }
        curl_easy_reset(easy)
        do {
            try configure(easy, for: transfer)
        } catch {
            spare.append(easy)
            return transfer.finish(.failure(error))
        }
        running[easy] = transfer
        if curl_multi_add_handle(multi, easy) != CURLM_OK {
            running[easy] = nil
            spare.append(easy)
            transfer.finish(.failure(URLError(.unknown)))
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
            } else {
                let error = Self.error(code, tooLarge: transfer.tooLarge, resent: transfer.requestsSent > 1)
                end(easy, with: .failure(error))
            }
        }
    }

    private func end(_ easy: UnsafeMutableRawPointer, with result: Result<HTTPResponse, any Error>) {
        curl_multi_remove_handle(multi, easy)
        let transfer = running.removeValue(forKey: easy)
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
        // libcurl calls this before each time it sends the request. When a kept connection dies after the request
        // went out, libcurl would send it again at once, up to five times over other kept connections; a token
        // request must not be repeated behind the refresh policy's back (the provider may have rotated the refresh
        // token on the first). A second call fails the transfer instead, and the policy decides.
        check(tokentop_curl_setopt_prereq(easy, Self.sendOnce))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_PREREQDATA, context))
        check(tokentop_curl_setopt_callback(easy, CURLOPT_WRITEFUNCTION, Self.receiveBody))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, context))
        check(tokentop_curl_setopt_callback(easy, CURLOPT_HEADERFUNCTION, Self.receiveHeader))
        check(tokentop_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, context))
        if failed {
            throw URLError(
                .unsupportedURL, userInfo: [NSLocalizedDescriptionKey: "libcurl refused the request's options"])
        }
    }

    private static var noBody: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }

    private static let sendOnce: tokentop_curl_prereq_callback = { context, _, _, _, _ in
        guard let context else { return Int32(CURL_PREREQFUNC_ABORT) }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        transfer.requestsSent += 1
        return Int32(transfer.requestsSent == 1 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT)
    }

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
    /// - Parameter resent: whether libcurl was about to send the request a second time (see `sendOnce`).
    static func error(_ code: CURLcode, tooLarge: Bool = false, resent: Bool = false) -> URLError {
        let reason = String(cString: curl_easy_strerror(code))
        let info = [NSLocalizedDescriptionKey: "libcurl: \(reason)"]
        if tooLarge { return URLError(.dataLengthExceedsMaximum, userInfo: info) }
        if resent {
            return URLError(
                .networkConnectionLost,
                userInfo: [NSLocalizedDescriptionKey: "libcurl: the connection closed before an answer came"])
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
