import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The real network through libcurl's multi interface: the transport tokentop uses.
///
/// All requests share one multi handle on one thread, which keeps connections to each provider open between
/// refreshes; at scale this reaches many times the rate of URLSession on Linux (see the README's benchmark). Like
/// ``URLSessionTransport`` it never follows a redirect, bounds each whole exchange by `timeout`, speaks only HTTP and
/// HTTPS (HTTP/1.1), verifies TLS certificates against the system's store (and a ``CertificateAuthorityFile`` when
/// one is given), and honours the `http_proxy`, `https_proxy` and `no_proxy` environment variables. Bodies over
/// 4 MiB are refused. A request is sent once, and never on a kept connection whose server has closed it (it goes
/// out on a new one instead).
public final class CurlTransport: HTTPTransport {
    private let multi: CurlMulti
    private let timeout: Double
    private let connectTimeout: Double
    private let certificateAuthorities: Mutex<CertificateAuthorities?>

    /// - Parameters:
    ///   - timeout: seconds an exchange may take in all before the request counts as lost.
    ///   - connectTimeout: seconds to set up the connection (TCP and TLS), within `timeout`.
    ///   - certificateAuthorities: more authorities to trust, from a ``CertificateAuthorityFile``.
    /// - Throws: `URLError` when libcurl cannot be initialised.
    public init(
        timeout: Double = 30, connectTimeout: Double = 10, certificateAuthorities: CertificateAuthorities? = nil
    ) throws {
        multi = try CurlMulti()
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.certificateAuthorities = Mutex(certificateAuthorities)
    }

    /// Trusts `authorities` from the next request on, instead of those given before (a reloaded configuration);
    /// nil trusts the system's store alone. libcurl reuses no connection made under other certificates.
    public func trust(_ authorities: CertificateAuthorities?) {
        certificateAuthorities.withLock { $0 = authorities }
    }

    deinit { multi.stop() }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = CurlTransfer(
            request: request, timeout: timeout, connectTimeout: connectTimeout,
            certificateAuthorities: certificateAuthorities.withLock { $0 })
        let multi = multi
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.continuation = continuation
                multi.submit(transfer)
            }
        } onCancel: {
            transfer.cancelled.store(true, ordering: .relaxed)
            multi.wake()
        }
    }
}
