import Foundation

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
            captureOutput: false, closingInherited: true,
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

    /// Resizes the terminal; `thenKeys` are typed in the same tmux command, before the program can read the resize.
    func resize(width: Int, height: Int, thenKeys keys: [String] = []) throws {
        let typed = keys.isEmpty ? [] : [";", "send-keys", "-t", name] + keys
        try Self.tmux(["-S", socket, "resize-window", "-t", name, "-x", "\(width)", "-y", "\(height)"] + typed)
    }

    /// Runs one tmux command and returns what it printed.
    ///
    /// Spawned and reaped by hand: Foundation's `Process` never sees the exit of a tmux client whose forked server
    /// keeps the descriptors it inherited, and waits forever.
    /// - Parameter closingInherited: whether every descriptor past standard error is closed before tmux runs. A
    ///   descriptor another test opened at that moment (its child's pipe, not yet close-on-exec) is inherited by a
    ///   spawned child; a server keeps it for its life, and that test's read to the end of the pipe then waited for
    ///   the server, with a thread of the cooperative pool, until the tests hung.
    @discardableResult
    static func tmux(captureOutput: Bool = true, closingInherited: Bool = false, _ arguments: [String]) throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, captureOutput ? output : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Closed by the shell in the child itself, so that nothing opened meanwhile in this process slips through.
        let closing = [
            "bash", "-c", #"for p in /proc/$$/fd/*; do f=${p##*/}; [ "$f" -gt 2 ] && eval "exec $f>&-"; done; exec tmux "$@""#,
            "tmux",
        ]
        let program = closingInherited ? closing : ["tmux"]
        let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env"] + program + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        // The test runner's threads block some signals, and a spawned child inherits that mask: tmux's server
        // needs SIGCHLD and SIGWINCH, so start it with an empty mask and default handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/usr/bin/env", &actions, &attributes, argv, environ) == 0 else {
            throw TmuxError(arguments: arguments, status: -1)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exitCode = (status >> 8) & 0xff
        guard status & 0x7f == 0, exitCode == 0 else { throw TmuxError(arguments: arguments, status: exitCode) }
        guard captureOutput else { return "" }
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    struct TmuxError: Error, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var description: String { "tmux \(arguments.prefix(4).joined(separator: " ")) exited \(status)" }
    }
}
