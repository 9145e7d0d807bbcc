import CCrypto
import Foundation

/// Proof Key for Code Exchange (RFC 7636) with the S256 method, and the random `state` that ties a redirect to
/// the request that caused it.
///
/// The verifier never leaves this process except in the token request; the authorization URL carries only its
/// challenge, which reveals nothing about it.
struct PKCE: Sendable, Equatable {
    /// The code verifier: 64 characters of base64url, from 48 bytes of libcrypto's CSPRNG (RFC 7636 §4.1 asks
    /// for 43 to 128 unreserved characters and at least 256 bits of entropy; this has 384).
    let verifier: Secret
    /// `BASE64URL(SHA256(ASCII(verifier)))` without padding (RFC 7636 §4.2).
    let challenge: String

    /// The only method sent: `plain` would put the verifier itself in the browser's address bar.
    static let method = "S256"

    /// A fresh verifier and its challenge.
    /// - Throws: ``ReauthFailure`` when the random number generator fails.
    static func generate() throws(ReauthFailure) -> PKCE {
        let verifier = try RandomToken.make(bytes: 48)
        return PKCE(verifier: Secret(verifier), challenge: challenge(for: verifier))
    }

    /// The S256 challenge of `verifier`.
    static func challenge(for verifier: String) -> String {
        JWT.base64URL(SHA256Digest.bytes(of: Data(verifier.utf8)))
    }
}

/// Unguessable values for `state` and the PKCE verifier.
enum RandomToken {
    /// `bytes` random bytes from libcrypto's CSPRNG, as base64url without padding.
    /// - Throws: ``ReauthFailure`` when the generator cannot deliver (it never returns weak bytes instead).
    static func make(bytes: Int) throws(ReauthFailure) -> String {
        var buffer = [UInt8](repeating: 0, count: bytes)
        guard RAND_bytes(&buffer, Int32(bytes)) == 1 else {
            throw ReauthFailure(
                .configuration, "the system's random number generator failed, so no sign-in was started")
        }
        return JWT.base64URL(buffer)
    }
}
