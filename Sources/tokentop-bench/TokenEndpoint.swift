import Foundation

/// nginx on 127.0.0.1, answering every POST to `/token` with one fixed token JSON: the fast local token endpoint
/// that both the refresh actor and wrk are measured against.
///
/// It runs in the foreground (`daemon off`) as this process's child, so stopping it signals only its pid.
final class TokenEndpoint {
    /// The answer, shaped as RFC 6749 §5.1 says; no refresh token, so the stored one is kept.
    static let answer = #"{"access_token":"fake-access-token-bench-0001","token_type":"Bearer","expires_in":3600}"#

    let url: URL
    let port: Int
    private let process: Subprocess
    private let directory: String

    /// Writes the configuration under `directory` and starts nginx with `workers` worker processes.
    init(directory: String, workers: Int) throws {
        guard let nginx = Subprocess.locate("nginx") else {
            throw BenchError("nginx is not installed; `apt-get install -y nginx-light wrk` (or nginx) brings it")
        }
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        url = URL(string: "http://127.0.0.1:\(port)/token")!
        let config = """
            worker_processes \(workers);
            daemon off;
            pid \(directory)/nginx.pid;
            error_log \(directory)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(directory)/body;
                proxy_temp_path \(directory)/proxy;
                fastcgi_temp_path \(directory)/fastcgi;
                uwsgi_temp_path \(directory)/uwsgi;
                scgi_temp_path \(directory)/scgi;
                keepalive_requests 10000000;
                keepalive_timeout 120s;
                server {
                    listen 127.0.0.1:\(port);
                    location = /token {
                        default_type application/json;
                        return 200 '\(Self.answer)';
                    }
                }
            }
            """
        let configPath = directory + "/nginx.conf"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        process = try Subprocess(
            nginx, ["-p", directory, "-c", configPath, "-e", directory + "/error.log"],
            errorPath: directory + "/stderr.log")
        try waitUntilListening()
    }

    /// Stops nginx (its master passes the signal to its workers) and waits for it.
    func stop() {
        process.signal(SIGQUIT)
        _ = process.wait()
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if Self.connects(port: port) { return }
            usleep(20_000)
        }
        process.signal(SIGKILL)
        _ = process.wait()
        let log = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        throw BenchError("nginx did not listen on 127.0.0.1:\(port) within 10 s: \(log.suffix(400))")
    }

    /// A port on 127.0.0.1 that nothing listens on now.
    private static func freePort() throws -> Int {
        let socket = Self.loopbackSocket()
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw BenchError("cannot find a free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func connects(port: Int) -> Bool {
        let socket = loopbackSocket()
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private static func loopbackSocket() -> Int32 {
        #if canImport(Glibc)
            return socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            return socket(AF_INET, SOCK_STREAM, 0)
        #endif
    }
}
