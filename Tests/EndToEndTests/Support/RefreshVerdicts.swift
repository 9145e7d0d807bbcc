import Foundation
import TokentopTestSupport

/// Asks a django-oauth-toolkit server's database whether it would accept refresh tokens, without presenting them
/// (which would rotate them): `Tests/Interop/dot/refresh_verdicts.py`, one process for the whole test.
///
/// Tokens go to the script through a pipe, never on a command line; what comes back names no token.
final class RefreshVerdicts {
    private let process = Child()
    private let input = Pipe()
    private let output = Pipe()
    private var buffered = Data()

    /// Starts the script on the server's SQLite file.
    /// - Parameters:
    ///   - server: a running server; its run directory holds `dot.sqlite3`.
    ///   - python: an interpreter with the standard library's sqlite3.
    init(server: OAuthServerFixture, python: String) throws {
        let script = OAuthServerFixture.packageRoot.appendingPathComponent("Tests/Interop/dot/refresh_verdicts.py")
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            script.path, server.runDirectory + "/dot.sqlite3", String(server.graceSeconds),
        ]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    /// One verdict per token, in order: `accepted`, or `refused` and the reason.
    func verdicts(for tokens: [String]) throws -> [String] {
        let batch = tokens.map { $0 + "\n" }.joined() + "\n"
        try input.fileHandleForWriting.write(contentsOf: Data(batch.utf8))
        var lines: [String] = []
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[buffered.startIndex..<newline], as: UTF8.self)
                buffered = Data(buffered[buffered.index(after: newline)...])
                if line == "end" { break }
                lines.append(line)
                continue
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else {
                throw OAuthServerFixture.Failure("refresh_verdicts.py exited before answering; see its stderr")
            }
            buffered.append(chunk)
        }
        guard lines.count == tokens.count else {
            throw OAuthServerFixture.Failure("refresh_verdicts.py answered \(lines.count) of \(tokens.count) tokens")
        }
        return lines
    }

    /// Ends the script: SIGKILL, since a child started from a test-runner thread ignores SIGTERM.
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
