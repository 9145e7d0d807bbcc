import CCrypto
import Foundation

/// The PEM file of certificate authorities an operator trusts for providers' TLS (`ca_file`, `--ca-file`): an
/// identity provider behind a private CA, such as a company's Keycloak.
///
/// libcurl reads the file for each new connection, besides the system's certificate directory (Debian's libcurl
/// is built with both), so public providers stay trusted. It is checked once at start and on each reload, so that
/// a wrong file is a clear refusal then rather than every refresh failing with a TLS error later.
public enum CertificateAuthorityFile {
    /// Larger than any real bundle (Debian's whole system bundle is about 200 KiB).
    static let sizeLimit = 4 << 20

    /// Checks the `ca_file` of `configuration`, if it names one, saying where the setting came from.
    public static func check(_ configuration: EffectiveConfiguration) throws {
        guard let path = configuration.settings.caFile else { return }
        let source = configuration.entries.first { $0.name == "ca_file" }?.source ?? .builtIn
        try check(path, origin: "\(source)")
    }

    /// Checks that `path` names a regular file of PEM certificates that OpenSSL reads, and nothing else.
    /// - Parameter origin: where the path came from (`flag --ca-file`, `file PATH`), for the message.
    /// - Returns: how many certificates it holds.
    /// - Throws: ``ConfigError`` naming the file and what is wrong with it.
    @discardableResult
    public static func check(_ path: String, origin: String) throws -> Int {
        func fail(_ problem: String) -> ConfigError { ConfigError("ca_file \(path) (\(origin)): \(problem)") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw fail(errno == ENOENT ? "no such file" : "cannot be read (\(String(cString: strerror(errno))))")
        }
        // A pipe would block the start for ever; a folder of hashed certificates is libcurl's CA path, not this.
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw fail(
                info.st_mode & S_IFMT == S_IFDIR
                    ? "is a directory; name one PEM file of certificates (cat them into one file)"
                    : "is not a regular file; name a PEM file of certificates")
        }
        guard info.st_size <= sizeLimit else {
            throw fail("is larger than \(sizeLimit >> 20) MiB, which no file of certificate authorities is")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot be read (permission denied)")
        }
        let blocks = PEMArmor(String(decoding: data, as: UTF8.self)).blocks
        // The file is read by every process that refreshes, and often shared: a key has no business in it.
        if blocks.contains(where: { $0.isPrivateKey || $0.isEncrypted }) {
            throw fail("holds a private key; a CA file holds only certificates (the key must stay with its server)")
        }
        let certificates = blocks.filter { $0.label == "CERTIFICATE" || $0.label == "TRUSTED CERTIFICATE" }
        guard !certificates.isEmpty else {
            throw fail(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----); a DER file converts with "
                    + "`openssl x509 -inform der -in FILE -out FILE.pem`")
        }
        for (index, block) in certificates.enumerated() {
            guard block.complete else { throw fail("certificate \(index + 1) has no END line; the file was cut short") }
            OpenSSLErrorQueue.clear()
            let bytes = Array(block.text.utf8)
            let readable = bytes.withUnsafeBytes { raw -> Bool in
                guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return false }
                defer { BIO_free(bio) }
                guard let certificate = PEM_read_bio_X509_AUX(bio, nil, nil, nil) else { return false }
                X509_free(certificate)
                return true
            }
            guard readable else {
                throw fail("certificate \(index + 1) cannot be read (OpenSSL: \(OpenSSLErrorQueue.drain()))")
            }
        }
        return certificates.count
    }
}
