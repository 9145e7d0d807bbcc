import Foundation

/// The raw rate: wrk POSTing a refresh-shaped form to the token endpoint, with the refresh actor's concurrency.
enum Wrk {
    /// Runs wrk for `seconds` with `connections` open connections and returns its requests per second.
    static func rate(url: URL, connections: Int, seconds: Int, directory: String) throws -> Double {
        guard let wrk = Subprocess.locate("wrk") else {
            throw BenchError("wrk is not installed; `apt-get install -y wrk` brings it")
        }
        let script = directory + "/post.lua"
        try """
        wrk.method = "POST"
        wrk.body = "grant_type=refresh_token&refresh_token=fake-refresh-token-wrk"
        wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
        wrk.headers["Accept"] = "application/json"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let threads = max(1, min(connections, ProcessInfo.processInfo.activeProcessorCount))
        let run = try Subprocess(
            wrk, ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "-s", script, url.absoluteString],
            capture: true)
        let (output, status) = run.finish()
        guard status == 0,
            let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
            let rate = line.split(separator: " ").last.flatMap({ Double($0) })
        else { throw BenchError("wrk failed (exit \(status)): \(output.suffix(400))") }
        if output.contains("Non-2xx") { throw BenchError("wrk saw answers other than 2xx: \(output.suffix(400))") }
        return rate
    }
}
