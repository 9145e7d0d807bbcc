import CCurl
import Foundation
import Synchronization

/// One request on its way through ``CurlMulti``: what to send, what came back, and who waits for it.
///
/// Created by ``CurlTransport/send(_:)``; from then on only the multi's thread reads or writes it, except
/// `cancelled`, which any thread may set.
final class CurlTransfer: @unchecked Sendable {
    // @unchecked Sendable: after `send` hands it over, every field but `cancelled` (an atomic) is used only on the
    // multi's one thread, and `continuation` is resumed there exactly once.

    /// The most of a body kept; a provider that sends more is cut off with an error rather than filling memory.
    static let bodyLimit = 4 << 20

    let request: HTTPRequest
    let timeoutMilliseconds: Int
    let connectTimeoutMilliseconds: Int
    var continuation: CheckedContinuation<HTTPResponse, any Error>?
    let cancelled = Atomic<Bool>(false)
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    /// The header list handed to libcurl, freed when the transfer ends.
    var headerList: UnsafeMutablePointer<curl_slist>?
    var tooLarge = false
    /// Whether the request went out (see `CurlMulti.sendOnce`).
    var sent = false
    /// Whether the transfer was stopped before its request, on a kept connection the server had closed, to start
    /// again on a new one.
    var connectionEnded = false
    /// Whether it runs on a new connection of its own after that.
    var reconnected = false
    /// The multi running the transfer, while it runs.
    weak var multi: CurlMulti?

    /// Kept while the transfer runs: libcurl reads their bytes where they are.
    let certificateAuthorities: CertificateAuthorities?

    init(
        request: HTTPRequest, timeout: Double, connectTimeout: Double,
        certificateAuthorities: CertificateAuthorities? = nil
    ) {
        self.request = request
        self.certificateAuthorities = certificateAuthorities
        timeoutMilliseconds = max(1, Int(timeout * 1_000))
        connectTimeoutMilliseconds = max(1, Int(min(timeout, connectTimeout) * 1_000))
    }

    /// Where libcurl writes why the transfer failed, in its own words; it stays put while libcurl may write it.
    let errorBuffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))

    deinit { errorBuffer.deallocate() }

    /// What libcurl wrote to ``errorBuffer``; empty when nothing.
    var errorText: String {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Resumes the caller, once.
    func finish(_ result: Result<HTTPResponse, any Error>) {
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        continuation?.resume(with: result)
        continuation = nil
    }

    /// One header line of the answer; a status line starts a new answer (after `100 Continue`, say).
    ///
    /// Parsed as bytes: Foundation's trimming cost more than the rest of a refresh's HTTP work.
    func receiveHeader(_ line: UnsafeRawBufferPointer) {
        let bytes = line.bindMemory(to: UInt8.self)
        if bytes.starts(with: "HTTP/".utf8) {
            headers = [:]
            return
        }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0a }
        var start = colon + 1
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        let name = String(decoding: bytes[..<colon].filter { !isSpace($0) }.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 },
            as: UTF8.self)
        let value = String(decoding: bytes[start..<end], as: UTF8.self)
        headers[name] = headers[name].map { "\($0), \(value)" } ?? value
    }
}
