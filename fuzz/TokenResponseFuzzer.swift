import Foundation

/// libFuzzer entry for ``TokenResponseParser``: each input is a token endpoint's body, parsed under every status
/// and content type in ``TokenResponseFuzzCases``, and its first line read as a `Retry-After` value.
///
/// A crash is a finding, and so is an outcome that breaks a promise the refresh actor relies on (see
/// ``TokenResponseFuzzCases/check(_:)``): both stop the run with the input saved.
@_cdecl("LLVMFuzzerTestOneInput")
public func tokenResponseFuzzerInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Data(bytes: data, count: size)
    for response in TokenResponseFuzzCases.responses(body) {
        let result = TokenResponseParser.parse(response, now: TokenResponseFuzzCases.now)
        if let broken = TokenResponseFuzzCases.check(result) {
            fatalError("HTTP \(response.status): \(broken)")
        }
    }
    let firstLine = String(decoding: body.prefix(64).prefix { $0 != 0x0a }, as: UTF8.self)
    if let delay = TokenResponseParser.parseRetryAfter(firstLine), delay.isNaN || delay < 0 {
        fatalError("Retry-After \(delay)")
    }
    return 0
}
