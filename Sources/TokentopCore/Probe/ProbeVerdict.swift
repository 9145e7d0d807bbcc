import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What one probe found: accepted, rejected (401/403: a human must issue a new credential), or failed otherwise.
///
/// Its detail is short and safe to show: the HTTP status and the provider's own reason when it gave one, with every
/// form of the secret scrubbed and token-like runs masked. A transport error is named by its kind only, because its
/// description may quote the URL, and a query-parameter key with it.
struct ProbeVerdict: Equatable {
    enum Outcome: Equatable {
        /// 2xx: the provider accepted the credential.
        case ok
        /// 401 or 403: the provider refused the credential itself.
        case rejected
        /// Anything else: a redirect, a server error, no answer.
        case failed
    }

    let outcome: Outcome
    /// For example `HTTP 200`, `HTTP 401: invalid api key`, `no answer within 10s`.
    let detail: String
    /// The HTTP status, when an answer arrived.
    let status: Int?

    /// The longest provider reason kept in a detail, in characters.
    static let reasonLength = 80

    /// The stored form of this verdict.
    func result(at date: Date) -> ProbeResult { ProbeResult(at: date, ok: outcome == .ok, detail: detail) }

    /// Classifies an answer.
    static func answer(_ response: HTTPResponse, request: ProbeRequest) -> ProbeVerdict {
        let status = response.status
        switch status {
        case 200..<300:
            return ProbeVerdict(outcome: .ok, detail: "HTTP \(status)", status: status)
        case 300..<400:
            // Following it would hand the credential to wherever the answer points.
            return ProbeVerdict(outcome: .failed, detail: "HTTP \(status): a redirect, not followed", status: status)
        default:
            let reason = reason(in: response, request: request)
            let detail = reason.map { "HTTP \(status): \($0)" } ?? "HTTP \(status)"
            let outcome: Outcome = status == 401 || status == 403 ? .rejected : .failed
            return ProbeVerdict(outcome: outcome, detail: detail, status: status)
        }
    }

    /// Classifies a request that got no answer.
    static func noAnswer(_ error: any Error, timeout: Double) -> ProbeVerdict {
        let code = (error as? URLError)?.code
        let what: String
        switch code {
        case .timedOut?: what = "no answer within \(Countdown.format(seconds: timeout))"
        case .cannotConnectToHost?: what = "network error: cannot connect"
        case .cannotFindHost?, .dnsLookupFailed?: what = "network error: host not found"
        case .networkConnectionLost?: what = "network error: connection lost before the answer"
        case .secureConnectionFailed?, .serverCertificateUntrusted?, .serverCertificateHasBadDate?,
            .serverCertificateHasUnknownRoot?, .serverCertificateNotYetValid?:
            what = "network error: TLS failed"
        case .badServerResponse?: what = "network error: not an HTTP answer"
        default: what = "network error"
        }
        return ProbeVerdict(outcome: .failed, detail: what, status: nil)
    }

    /// The provider's reason from a JSON error (`error_description`, `message`, `error`, `detail`) or a one-line
    /// text body; nil for HTML and anything else.
    private static func reason(in response: HTTPResponse, request: ProbeRequest) -> String? {
        var text: String?
        if let object = (try? JSONSerialization.jsonObject(with: response.body.prefix(16_384))) as? [String: Any] {
            for key in ["error_description", "message", "error", "detail"] {
                if let value = object[key] as? String, !value.isEmpty {
                    text = value
                    break
                }
                if let nested = object[key] as? [String: Any], let value = nested["message"] as? String {
                    text = value
                    break
                }
            }
        } else if response.headers["content-type"]?.lowercased().hasPrefix("text/plain") ?? false {
            text = String(decoding: response.body.prefix(512), as: UTF8.self)
                .split(whereSeparator: \.isNewline).first.map(String.init)
        }
        guard let text else { return nil }
        let scrubbed = SecretMasking.mask(SafeText.clean(request.scrub(text))).trimmingCharacters(in: .whitespaces)
        guard !scrubbed.isEmpty else { return nil }
        return scrubbed.count > reasonLength ? String(scrubbed.prefix(reasonLength)) + "…" : scrubbed
    }
}
