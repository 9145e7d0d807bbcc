import CCrypto

extension SigningKey {
    /// The size of one P-256 coordinate, and so of `r` and of `s` in an ES256 signature.
    static let p256CoordinateBytes = 32

    /// Signs `message` with SHA-256 and the key's algorithm.
    /// - Returns: for RS256 the RSASSA-PKCS1-v1_5 signature (as long as the modulus); for ES256 the 64-byte raw
    ///   `r || s` form a JWS carries.
    /// - Throws: ``SigningKeyError`` with code `signingFailed` and OpenSSL's reason.
    func sign(_ message: [UInt8]) throws(SigningKeyError) -> [UInt8] {
        OpenSSLErrorQueue.clear()
        guard let context = EVP_MD_CTX_new() else { throw signingFailure("no memory for a digest context") }
        defer { EVP_MD_CTX_free(context) }
        // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is; RSA-PSS keys were refused when loading.
        guard EVP_DigestSignInit_ex(context, nil, "SHA256", nil, nil, pkey, nil) == 1 else {
            throw signingFailure(OpenSSLErrorQueue.drain())
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1, length > 0 else {
            throw signingFailure(OpenSSLErrorQueue.drain())
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw signingFailure(OpenSSLErrorQueue.drain())
        }
        signature.removeSubrange(length...)
        switch algorithm {
        case .rs256:
            return signature
        case .es256:
            guard let raw = ECDSASignature.raw(fromDER: signature, width: Self.p256CoordinateBytes) else {
                throw signingFailure("OpenSSL returned an ECDSA signature that is not DER of two 32-byte numbers")
            }
            return raw
        }
    }

    private func signingFailure(_ why: String) -> SigningKeyError {
        SigningKeyError(.signingFailed, "\(label): signing with \(algorithm.rawValue) failed: \(why)")
    }
}
