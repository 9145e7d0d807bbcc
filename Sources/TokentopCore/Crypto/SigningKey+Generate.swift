import CCrypto

extension SigningKey {
    /// A fresh RSA private key as unencrypted PKCS#8 PEM text, for the demo's service account and GitHub App.
    ///
    /// The demo makes its keys when it starts, so that no private key is ever shipped or committed.
    /// - Parameter bits: the modulus size; at least ``minimumRSABits``.
    /// - Throws: ``SigningKeyError`` with OpenSSL's reason when generation fails.
    public static func generateRSAPEM(bits: Int = minimumRSABits) throws(SigningKeyError) -> Secret {
        func failure(_ why: String) -> SigningKeyError {
            SigningKeyError(.signingFailed, "generating an RSA \(bits)-bit key failed: \(why)")
        }
        OpenSSLErrorQueue.clear()
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else {
            throw failure(OpenSSLErrorQueue.drain())
        }
        defer { EVP_PKEY_CTX_free(context) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1,
            EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(max(bits, minimumRSABits))) == 1,
            EVP_PKEY_generate(context, &pkey) == 1, let pkey
        else { throw failure(OpenSSLErrorQueue.drain()) }
        defer { EVP_PKEY_free(pkey) }
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("no memory for the PEM text") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw failure(OpenSSLErrorQueue.drain())
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = BIO_read(bio, &chunk, Int32(chunk.count))
            if count <= 0 { break }
            bytes += chunk[0..<Int(count)]
        }
        defer {
            OPENSSL_cleanse(&bytes, bytes.count)
            OPENSSL_cleanse(&chunk, chunk.count)
        }
        return Secret(String(decoding: bytes, as: UTF8.self))
    }
}
