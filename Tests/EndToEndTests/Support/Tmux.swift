import Foundation
import TokentopTestSupport

/// A real terminal: a detached tmux session that the test types into and reads back.
final class Tmux {
    let name = "tokentop-test-\(UUID().uuidString.prefix(8))"
    let socket: String

    /// Starts a plain shell in a `width`×`height` terminal; `environment` is exported into it.
    init(width: Int = 120, height: Int = 40, environment: [String: String], directory: URL) throws {
        socket = directory.appendingPathComponent("tmux.sock").path
        // No history file: a shell writing one as the server stops would put it back into a removed sandbox.
        var env = ["PS1=tt$ ", "TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "HISTFILE=/dev/null"]
        for (key, value) in environment { env.append("\(key)=\(value)") }
        // The server forks from this command and keeps its descriptors: give it none of ours to hold open.
        try Self.tmux(
            captureOutput: false,
            [
                "-S", socket, "-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "\(width)", "-y", "\(height)",
                // The test runner's own NO_COLOR (swift test may set it) must not leak into the terminal under test.
                "env", "-u", "NO_COLOR",
            ] + env + ["bash", "--norc", "--noprofile"])
    }

    deinit { _ = try? Self.tmux(["-S", socket, "kill-server"]) }

    /// Types `keys` (tmux key names, or literal text with `literal`).
    func send(_ keys: String..., literal: Bool = false) throws {
        try Self.tmux(["-S", socket, "send-keys", "-t", name] + (literal ? ["-l"] : []) + keys)
    }

    /// The visible screen as text.
    func capture() throws -> String {
        try Self.tmux(["-S", socket, "capture-pane", "-p", "-t", name])
    }

    /// The visible screen with its colours and attributes, as the escape sequences tmux would draw them with.
    func captureWithStyles() throws -> String {
        try Self.tmux(["-S", socket, "capture-pane", "-p", "-e", "-t", name])
    }

    /// Polls the screen until `condition` holds or `timeout` seconds pass; returns the last capture.
    ///
    /// The screen is read on a thread of its own, never one of the cooperative pool (only as wide as the machine has
    /// cores, and stalled by any test blocking a thread of it): a screen shown for seconds (a dialog) is caught when
    /// it shows, even while the test's own tasks wait for a thread of the pool.
    @discardableResult
    func wait(timeout: Double = 10, until condition: @escaping @Sendable (String) -> Bool) async throws -> String {
        let (socket, name) = (socket, name)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(timeout)
                do {
                    var screen = try Self.tmux(["-S", socket, "capture-pane", "-p", "-t", name])
                    while !condition(screen), Date() < deadline {
                        usleep(100_000)
                        screen = try Self.tmux(["-S", socket, "capture-pane", "-p", "-t", name])
                    }
                    continuation.resume(returning: screen)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// The seconds from `start` until the screen satisfies `condition`, measured on the polling thread (see
    /// ``wait(timeout:until:)``): a test's task resumed late by a loaded pool does not add to it. Nil when it did not
    /// within `timeout` seconds of `start`.
    func seconds(
        from start: Date, timeout: Double = 10, until condition: @escaping @Sendable (String) -> Bool
    ) async throws -> Double? {
        let (socket, name) = (socket, name)
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let deadline = start.addingTimeInterval(timeout)
                do {
                    while Date() < deadline {
                        let screen = try Self.tmux(["-S", socket, "capture-pane", "-p", "-t", name])
                        if condition(screen) { return continuation.resume(returning: Date().timeIntervalSince(start)) }
                        usleep(20_000)
                    }
                    continuation.resume(returning: nil)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// Resizes the terminal; `thenKeys` are typed in the same tmux command, before the program can read the resize.
    func resize(width: Int, height: Int, thenKeys keys: [String] = []) throws {
        let typed = keys.isEmpty ? [] : [";", "send-keys", "-t", name] + keys
        try Self.tmux(["-S", socket, "resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"] + typed)
    }

    /// Runs one tmux command and returns what it printed.
    ///
    /// Its output goes to a file, not a pipe: a tmux client that starts the server forks it, and the server keeps
    /// the client's descriptors for its life, so a pipe's reader would wait for the server's end. A `Child`, so that
    /// the server holds nothing else of this process open either (another test's pipe kept open by it made that
    /// test wait for the server, until the run hung), and starts with the signals tmux needs unblocked.
    @discardableResult
    static func tmux(captureOutput: Bool = true, _ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = Child()
        child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        child.arguments = ["tmux"] + arguments
        var file: FileHandle?
        if captureOutput {
            guard FileManager.default.createFile(atPath: output, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw TmuxError(arguments: arguments, status: -1) }
            file = FileHandle(forWritingAtPath: output)
            child.standardOutput = file
        }
        try child.run()
        try? file?.close()
        child.waitUntilExit()
        guard child.terminationStatus == 0 else {
            throw TmuxError(arguments: arguments, status: child.terminationStatus)
        }
        guard captureOutput else { return "" }
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    struct TmuxError: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var description: String { "tmux \(arguments.prefix(4).joined(separator: " ")) exited \(status)" }
    }
}
