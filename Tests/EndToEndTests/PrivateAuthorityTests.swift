import Foundation
import Testing
import TokentopCore

/// A provider behind a private certificate authority (`--ca-file`, `ca_file`): a real HTTPS token endpoint on
/// 127.0.0.1 whose certificate only the test's own file vouches for, refreshed through the real binary.
@Suite(.serialized)
struct PrivateAuthorityTests {
    /// Answers every POST with a fresh token; `/count` answers how many token requests came.
    static let tokenScript = #"""
        import http.server, ssl, sys
        seen = [0]
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *a): pass
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length', 0)))
                if self.path == '/count':
                    out = str(seen[0]).encode()
                else:
                    seen[0] += 1
                    out = b'{"access_token":"fake-access-token-ca-0002","token_type":"Bearer","expires_in":3600}'
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(out)))
                self.end_headers()
                self.wfile.write(out)
        """# + "\n" + CurlTransportTests.servingTLS

    /// A self-signed authority's certificate, valid only on 1 January 2020 (made once with Python's cryptography;
    /// a certificate is public, and its key was not kept).
    static let expiredAuthority = """
        -----BEGIN CERTIFICATE-----
        MIIBXTCCAQOgAwIBAgIUZoqFQTAB4eNowGJYC+EUBxWl4x4wCgYIKoZIzj0EAwIw
        JDEiMCAGA1UEAwwZdG9rZW50b3AgdGVzdCBDQSwgZXhwaXJlZDAeFw0yMDAxMDEw
        MDAwMDBaFw0yMDAxMDIwMDAwMDBaMCQxIjAgBgNVBAMMGXRva2VudG9wIHRlc3Qg
        Q0EsIGV4cGlyZWQwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAS5FfunpqobvxIS
        2R5+iAEbHf//cFcp1tvwC8jmPgXMSm55NEITlPOghj0b0TPVWj4CXnLup+XvZcDY
        +OBu6QN2oxMwETAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQD5
        lG+YsTo0isCi9OEdx5AZvuObuq7Wr10eMyef5+b35wIgdFa7LN0guszTld/6NdDy
        lKxDH72Ha7ufVPNQPnFX89Q=
        -----END CERTIFICATE-----

        """

    /// A self-signed authority's certificate valid only in 2090 (made as ``expiredAuthority`` was).
    static let futureAuthority = """
        -----BEGIN CERTIFICATE-----
        MIIBcDCCARegAwIBAgIUCNg/b1OP4T2NVukil3zjXwtalFMwCgYIKoZIzj0EAwIw
        LDEqMCgGA1UEAwwhdG9rZW50b3AgdGVzdCBDQSwgdmFsaWQgZnJvbSAyMDkwMCIY
        DzIwOTAwMTAxMDAwMDAwWhgPMjA5MTAxMDEwMDAwMDBaMCwxKjAoBgNVBAMMIXRv
        a2VudG9wIHRlc3QgQ0EsIHZhbGlkIGZyb20gMjA5MDBZMBMGByqGSM49AgEGCCqG
        SM49AwEHA0IABP7w7B3aCoYKmStklvUDkjSntxz+d2wBCI0JD7EOAx49tmLbolaj
        gjxAZe2Y5ttSIMJLQ5Eh/19ZqwNQDc+Hy1WjEzARMA8GA1UdEwEB/wQFMAMBAf8w
        CgYIKoZIzj0EAwIDRwAwRAIgavQA8fhRRTY0MfkQaosPo+5EwQZAwmVi3I/wQ2zT
        KNsCIDK85M3r3zxQwVLG7QJMTT18ObtvOv7WrHkrC8lMHtx+
        -----END CERTIFICATE-----

        """

    /// A store with one user connection whose token endpoint is the fixture's.
    static func sandbox(for tls: CurlTransportTests.TLSFixture) throws -> Sandbox {
        let sandbox = try Sandbox()
        let file = try sandbox.write(
            "import.json",
            CommandLineTests.importFile.replacingOccurrences(
                of: "http://127.0.0.1:9/token", with: "https://127.0.0.1:\(tls.server.port)/token"))
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        try #require(run.status == 0, "import failed: \(run.stderr)")
        return sandbox
    }

    @Test func aRefreshTrustsTheAuthoritiesOfTheFileBesidesTheSystems() async throws {
        let tls = try await CurlTransportTests.TLSFixture(Self.tokenScript)
        let sandbox = try Self.sandbox(for: tls)
        defer { sandbox.remove() }
        let environment = sandbox.environment

        // No system authority vouches for the test's certificate: a recorded failure that says what helps.
        let untrusted = try Binary.run(["refresh", "acme-alice"], environment: environment)
        #expect(untrusted.status == 1)
        #expect(
            untrusted.stderr.hasPrefix(
                "tokentop: acme-alice: refresh failed: network_error: the provider's TLS certificate is not trusted"),
            "\(untrusted.stderr)")
        #expect(untrusted.stderr.contains("a private CA is trusted with ca_file"), "\(untrusted.stderr)")
        // A ca_file of other authorities: the failure says that it did not help either.
        let other = sandbox.root.appendingPathComponent("other.pem").path
        let made = try Binary.run(
            executable: "/usr/bin/env",
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
                "1", "-subj", "/CN=other", "-keyout", sandbox.root.appendingPathComponent("other.key").path, "-out",
                other,
            ])
        try #require(made.status == 0, "\(made.stderr)")
        let elsewhere = try Binary.run(["refresh", "acme-alice", "--ca-file", other], environment: environment)
        #expect(elsewhere.status == 1)
        #expect(
            elsewhere.stderr.contains("; no authority of the system's or of ca_file \(other) issued it"),
            "\(elsewhere.stderr)")
        #expect(!elsewhere.stderr.contains("a private CA is trusted with ca_file"), "\(elsewhere.stderr)")
        #expect(try await tls.post("/count", "") == "0", "nothing reached the server past the handshake")

        let flagged = try Binary.run(
            ["refresh", "acme-alice", "--ca-file", tls.file("cert.pem")], environment: environment)
        #expect(flagged.status == 0, "\(flagged.stderr)")
        #expect(flagged.stdout == "acme-alice: refreshed, expires in 1h00m\n", "\(flagged.stdout)")

        // From the configuration file, as `tokentop config` shows it.
        let config = try sandbox.write("config.json", #"{"ca_file": "\#(tls.file("cert.pem"))"}"#)
        var configured = environment
        configured["TOKENTOP_CONFIG"] = config
        let shown = try Binary.run(["config"], environment: configured)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(
            shown.stdout.split(separator: "\n").contains {
                $0.hasPrefix("ca_file ") && $0.contains(tls.file("cert.pem")) && $0.hasSuffix("(file \(config))")
            }, "\(shown.stdout)")
        let filed = try Binary.run(["refresh", "acme-alice"], environment: configured)
        #expect(filed.status == 0, "\(filed.stderr)")
        #expect(try await tls.post("/count", "") == "2", "each trusted refresh reached the server once")
    }

    /// Each wrong file is refused before the store is opened or a request sent, in one line that names the file,
    /// where it came from and what is wrong.
    @Test func aWrongFileIsRefusedAtStartNamingWhatIsWrong() async throws {
        let tls = try await CurlTransportTests.TLSFixture(Self.tokenScript)
        let sandbox = try Self.sandbox(for: tls)
        defer { sandbox.remove() }
        let certificate = try String(contentsOfFile: tls.file("cert.pem"), encoding: .utf8)
        let lines = certificate.split(separator: "\n")
        let fifo = sandbox.root.appendingPathComponent("pipe.pem").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let cases: [(name: String, text: String?, problem: String)] = [
            ("missing.pem", nil, "no such file"),
            ("key.pem", try String(contentsOfFile: tls.file("key.pem"), encoding: .utf8),
                "holds a private key; a CA file holds only certificates (the key must stay with its server)"),
            ("words.pem", "not a certificate\n",
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----); a DER file converts with "
                + "`openssl x509 -inform der -in FILE -out FILE.pem`"),
            (
                "cut.pem", lines.prefix(3).joined(separator: "\n"),
                "its CERTIFICATE block has no END line; the file was cut short"
            ),
            ("garbled.pem", "\(lines[0])\nAAAA!!!!\n\(lines[lines.count - 1])\n",
                "cannot be read as certificates (OpenSSL: bad base64 decode)"),
            ("pipe.pem", nil, "is not a regular file; name a PEM file of certificates"),
            ("expired.pem", Self.expiredAuthority, "its certificate has expired; get the authority's current one"),
            (
                "expired-twice.pem", Self.expiredAuthority + Self.expiredAuthority,
                "all 2 of its certificates have expired; get the authorities' current ones"
            ),
            (
                "future.pem", Self.futureAuthority,
                "its certificate is not valid yet; check this machine's clock, or get the authority's current one"
            ),
            (
                "neither.pem", Self.expiredAuthority + Self.futureAuthority,
                "none of its 2 certificates is valid now (1 expired, 1 not valid yet); check this machine's clock, or "
                    + "get the authorities' current ones"
            ),
            ("", nil, "is a directory; name one PEM file of certificates (cat them into one file)"),
        ]
        for (name, text, problem) in cases {
            let path = name.isEmpty ? sandbox.root.path : sandbox.root.appendingPathComponent(name).path
            if let text { _ = try sandbox.write(name, text) }
            // The dashboard (no command, and no terminal here) names the file before the missing terminal.
            for command in [[], ["refresh", "acme-alice"], ["revoke", "acme-alice"], ["config"]] {
                let run = try Binary.run(command + ["--ca-file", path], environment: sandbox.environment)
                #expect(run.status == 1, "\(command) \(name)")
                #expect(run.stderr == "tokentop: ca_file \(path) (flag --ca-file): \(problem)\n", "\(command)")
                #expect(run.stdout.isEmpty)
            }
        }
        // Nothing was sent, and the connection is as imported.
        #expect(try await tls.post("/count", "") == "0")
        let shown = try Binary.run(["show", "acme-alice", "--json"], environment: sandbox.environment)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(json["revoked_at"] is NSNull && json["last_refresh_at"] is NSNull, "\(shown.stdout)")
        // A command that reaches no provider takes no --ca-file.
        let listed = try Binary.run(["list", "--ca-file", tls.file("cert.pem")], environment: sandbox.environment)
        #expect(listed.status == 2)
        #expect(listed.stderr.hasPrefix("tokentop: --ca-file does not apply to 'list'\n"))
    }

    /// A reloaded daemon's transport trusts the new certificates from its next request; no connection made under
    /// other certificates is reused (withdrawing a CA takes effect at once), and the file changing after it was read
    /// changes nothing until the next reload reads it again.
    @Test func theTransportsTrustChangesFromTheNextRequest() async throws {
        let tls = try await CurlTransportTests.TLSFixture(Self.tokenScript)
        let transport = try CurlTransport(timeout: 10)
        let url = URL(string: "https://127.0.0.1:\(tls.server.port)/token")!
        func status() async -> String {
            do {
                return "\(try await transport.send(HTTPRequest(url: url, body: Data("x=1".utf8))).status)"
            } catch let error as URLError {
                return "URLError \(error.code == .serverCertificateUntrusted ? "untrusted" : "\(error.code)")"
            } catch {
                return "\(error)"
            }
        }
        #expect(await status() == "URLError untrusted")
        let trusted = try CertificateAuthorityFile.load(tls.file("cert.pem"), origin: "test")
        transport.trust(trusted)
        #expect(await status() == "200")
        // Emptied after it was read: the certificates in force are the ones read.
        try Data().write(to: URL(fileURLWithPath: tls.file("cert.pem")))
        #expect(await status() == "200")
        // Another authority instead: the connection the withdrawn one vouched for is not used again.
        let other = try await CurlTransportTests.TLSFixture(Self.tokenScript)
        transport.trust(try CertificateAuthorityFile.load(other.file("cert.pem"), origin: "test"))
        #expect(await status() == "URLError untrusted", "the connection made under the other file was not reused")
        transport.trust(trusted)
        #expect(await status() == "200")
        transport.trust(nil)
        #expect(await status() == "URLError untrusted")
        #expect(try await tls.post("/count", "") == "3")
    }

    /// A bundle is read as libcurl reads it: the legacy label and a revocation list pass, and a block OpenSSL cannot
    /// read fails the whole file at the check rather than every request later.
    @Test func aBundleIsReadAsLibcurlReadsIt() async throws {
        let tls = try await CurlTransportTests.TLSFixture(Self.tokenScript)
        let certificate = try String(contentsOfFile: tls.file("cert.pem"), encoding: .utf8)
        let legacy = certificate.replacingOccurrences(of: "BEGIN CERTIFICATE", with: "BEGIN X509 CERTIFICATE")
            .replacingOccurrences(of: "END CERTIFICATE", with: "END X509 CERTIFICATE")
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let legacyFile = try sandbox.write("legacy.pem", legacy)
        let loaded = try CertificateAuthorityFile.load(legacyFile, origin: "test")
        #expect(loaded.count == 1)
        let transport = try CurlTransport(timeout: 10, certificateAuthorities: loaded)
        let url = URL(string: "https://127.0.0.1:\(tls.server.port)/token")!
        #expect(try await transport.send(HTTPRequest(url: url, body: Data("x=1".utf8))).status == 200)
        let damaged = try sandbox.write(
            "damaged.pem", certificate + "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
        #expect(throws: ConfigError.self) { try CertificateAuthorityFile.load(damaged, origin: "test") }
        let bom = try sandbox.write("bom.pem", "\u{FEFF}" + certificate)
        let refused = #expect(throws: ConfigError.self) { try CertificateAuthorityFile.load(bom, origin: "test") }
        #expect(
            refused?.description
                == "ca_file \(bom) (test): starts with a UTF-8 byte order mark, which OpenSSL does not read; save it "
                + "without one")
        // An expired certificate beside a current one is kept, as in a bundle between two rotations, and the
        // current one is trusted.
        let mixed = try sandbox.write("mixed.pem", Self.expiredAuthority + certificate)
        let both = try CertificateAuthorityFile.load(mixed, origin: "test")
        #expect(both.count == 2)
        let rotated = try CurlTransport(timeout: 10, certificateAuthorities: both)
        #expect(try await rotated.send(HTTPRequest(url: url, body: Data("x=1".utf8))).status == 200)
    }
}
