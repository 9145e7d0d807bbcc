import CCrypto
import Foundation

/// The certificate authorities of a `ca_file`, read into memory once: libcurl takes them from here for every new
/// connection (`CURLOPT_CAINFO_BLOB`), besides the system's certificate directory, which it keeps reading (Debian's
/// libcurl is built with one), so public providers stay trusted.
///
/// Held in memory rather than named by path, so that what was checked is what is trusted: a file changed, emptied
/// or swapped for a pipe after the check changes nothing until a reload reads and checks it again, and a reload
/// that refuses the new file keeps these.
public final class CertificateAuthorities: @unchecked Sendable {
    // @unchecked Sendable: the bytes are written once, in init, and only read from then on.

    /// The file the certificates were read from, for messages.
    public let path: String
    /// How many certificates the file holds.
    public let count: Int
    /// The file's bytes, at an address that stays put while libcurl reads them.
    private let bytes: UnsafeMutableRawBufferPointer

    init(path: String, count: Int, data: Data) {
        self.path = path
        self.count = count
        bytes = .allocate(byteCount: max(data.count, 1), alignment: 1)
        _ = data.copyBytes(to: bytes)
    }

    deinit { bytes.deallocate() }

    /// The bytes for `curl_blob`; valid while this object lives.
    var pointer: UnsafeMutableRawPointer? { bytes.baseAddress }
    var byteCount: Int { bytes.count }
}

/// The PEM file of certificate authorities an operator trusts for providers' TLS (`ca_file`, `--ca-file`): an
/// identity provider behind a private CA, such as a company's Keycloak.
///
/// Read and checked at start and on each reload, with OpenSSL's reader of certificate bundles, the one libcurl
/// uses for them: what passes is what libcurl will load, and a wrong file is a clear refusal then rather than every
/// refresh failing with a TLS error later.
public enum CertificateAuthorityFile {
    /// Larger than any real bundle (Debian's whole system bundle is about 200 KiB).
    static let sizeLimit = 4 << 20

    /// Reads the `ca_file` of `configuration`, if it names one, saying where the setting came from in a refusal.
    public static func load(_ configuration: EffectiveConfiguration) throws -> CertificateAuthorities? {
        guard let path = configuration.settings.caFile else { return nil }
        let source = configuration.entries.first { $0.name == "ca_file" }?.source ?? .builtIn
        return try load(path, origin: "\(source)")
    }

    /// Reads `path`: a regular file of PEM certificates that OpenSSL reads, and no private key.
    /// - Parameter origin: where the path came from (`flag --ca-file`, `file PATH`), for the message.
    /// - Throws: ``ConfigError`` naming the file and what is wrong with it.
    public static func load(_ path: String, origin: String) throws -> CertificateAuthorities {
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
        if blocks.contains(where: { $0.isPrivateKey || ($0.isEncrypted && $0.label.hasSuffix("PRIVATE KEY")) }) {
            throw fail("holds a private key; a CA file holds only certificates (the key must stay with its server)")
        }
        if let cut = blocks.firstIndex(where: { !$0.complete }) {
            throw fail("its \(blocks[cut].label) block has no END line; the file was cut short")
        }
        if data.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw fail("starts with a UTF-8 byte order mark, which OpenSSL does not read; save it without one")
        }
        let (found, problem) = certificates(in: data)
        guard let (count, expired, early) = found else {
            throw fail("cannot be read as certificates (OpenSSL: \(problem))")
        }
        guard count > 0 else {
            throw fail(
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----); a DER file converts with "
                    + "`openssl x509 -inform der -in FILE -out FILE.pem`")
        }
        // A bundle may carry an old certificate beside current ones; one with nothing current vouches for nobody.
        guard expired + early < count else {
            if early == 0 {
                throw fail(
                    count == 1
                        ? "its certificate has expired; get the authority's current one"
                        : "all \(count) of its certificates have expired; get the authorities' current ones")
            }
            throw fail(
                count == 1
                    ? "its certificate is not valid yet; check this machine's clock, or get the authority's current one"
                    : "none of its \(count) certificates is valid now (\(expired) expired, \(early) not valid yet); "
                        + "check this machine's clock, or get the authorities' current ones")
        }
        return CertificateAuthorities(path: path, count: count, data: data)
    }

    /// How many certificates OpenSSL's bundle reader finds in `data`, as libcurl reads a `CURLOPT_CAINFO_BLOB`;
    /// any block it cannot read (a cut revocation list, a damaged certificate) fails the whole bundle, there too.
    /// - Returns: the count, how many of them have expired and how many are not valid yet, or nil and OpenSSL's
    ///   reasons.
    private static func certificates(in data: Data) -> ((count: Int, expired: Int, early: Int)?, String) {
        OpenSSLErrorQueue.clear()
        return data.withUnsafeBytes { raw -> ((count: Int, expired: Int, early: Int)?, String) in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                return (nil, OpenSSLErrorQueue.drain())
            }
            defer { BIO_free(bio) }
            guard let infos = PEM_X509_INFO_read_bio(bio, nil, nil, nil) else {
                return (nil, OpenSSLErrorQueue.drain())
            }
            defer { tokentop_free_x509_infos(infos) }
            var count = 0
            var expired = 0
            var early = 0
            for index in 0..<tokentop_x509_info_count(infos) {
                if tokentop_x509_info_has_certificate(infos, index) != 0 { count += 1 }
                if tokentop_x509_info_has_expired(infos, index) != 0 { expired += 1 }
                if tokentop_x509_info_is_not_yet_valid(infos, index) != 0 { early += 1 }
            }
            return ((count, expired, early), "")
        }
    }
}
