import Foundation

#if canImport(TokentopCore)
    @testable import TokentopCore
#endif

/// The responses each fuzz input becomes, and the promises every parse must keep.
///
/// `scripts/fuzz` compiles this file into the token-response fuzzer, together with the core's sources (hence no
/// `TokentopCore` to import there), and `FuzzRegressionTests` runs the same cases over every saved input.
enum TokenResponseFuzzCases {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    /// One status of each kind the parser tells apart: success, redirect, client error, server error.
    static let statuses = [200, 302, 400, 503]
    /// A JSON body parses alike under any type; a form-encoded one only under these.
    static let contentTypes: [String?] = [nil, "application/x-www-form-urlencoded"]

    /// `body` under every status and content type.
    static func responses(_ body: Data) -> [HTTPResponse] {
        statuses.flatMap { status in
            contentTypes.map { type in
                var headers = ["Retry-After": "7"]
                if let type { headers["Content-Type"] = type }
                return HTTPResponse(status: status, headers: headers, body: body)
            }
        }
    }

    /// What is wrong with `result`, or nil when it keeps every promise.
    static func check(_ result: Result<TokenGrant, ProviderError>) -> String? {
        switch result {
        case .success(let grant):
            if grant.accessToken.value.isEmpty { return "a grant with an empty access token" }
            if let lifetime = grant.expiresIn, !(lifetime.isFinite && lifetime > 0 && lifetime <= 10 * 365 * 86_400) {
                return "expires_in \(lifetime): not clamped to (0, 10 years]"
            }
            if grant.refreshToken?.value.isEmpty == true { return "an empty refresh token kept" }
        case .failure(let error):
            if error.error.unicodeScalars.contains(where: SafeText.isUnsafe) { return "control characters in error" }
            if error.errorDescription?.unicodeScalars.contains(where: SafeText.isUnsafe) == true {
                return "control characters in error_description"
            }
            if error.bodyPrefix?.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) == true {
                return "control characters in the body prefix"
            }
            if let delay = error.retryAfter, delay.isNaN || delay < 0 { return "Retry-After \(delay)" }
        }
        return nil
    }
}
