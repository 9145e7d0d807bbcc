import CCrypto

/// OpenSSL's per-thread error queue, read into words for a message and then emptied.
enum OpenSSLErrorQueue {
    /// The reasons on the queue, oldest first, joined with "; " (for example `unsupported; bad base64 decode`),
    /// or `unknown error` when the queue is empty. Empties the queue, so a later call starts clean.
    static func drain() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            // The full form is `error:CODE:library::reason`; the reason is what a person can act on.
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let reason = text.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? text
            if !reasons.contains(reason) { reasons.append(reason) }
        }
        return reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; ")
    }

    /// Forgets whatever an earlier call left behind, so a failure reports only its own reasons.
    static func clear() { ERR_clear_error() }
}
