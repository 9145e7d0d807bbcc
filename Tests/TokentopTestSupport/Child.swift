import Foundation
import Synchronization
import TokentopCore

/// A program the tests start: configured and used as Foundation's `Process` is, but started so that it holds no
/// descriptor of this process beyond the three it is given, and waited for with `waitpid` on a thread of its own.
///
/// Foundation's `Process` closes in the child only the descriptors open when it counts them. One that another
/// thread opens between that count and the spawn slips through: another test's pipe, or the socket through which
/// Foundation learns that another test's child ended. A child that lives long (a daemon, a server, a lock holder)
/// then keeps it, and that other test's read to the end of its pipe, or its wait for the exit, lasts as long as the
/// long-lived child. Two such waits hold both threads of the cooperative pool on a 2-core machine, the test that
/// would stop the long-lived child never runs again, and the run hung until CI's watchdog stopped it. Here the
/// spawn itself closes every descriptor from 3 up (`SpawnActions.closeFrom`), so nothing opened
/// at any moment reaches the child.
///
/// The child starts in a process group of its own, as with `Process`, with an empty signal mask and default
/// signal actions, as from a shell: the test runner's threads block signals that its children would inherit.
// @unchecked Sendable: the configuration is set once before `run()`; what changes afterwards is under `state`.
public final class Child: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// The whole environment; nil for this process's own.
    public var environment: [String: String]?
    public var currentDirectoryURL: URL?
    /// A `Pipe`, a `FileHandle`, or nil for /dev/null, as `Process` takes them.
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    public private(set) var processIdentifier: pid_t = 0

    private struct State {
        /// What `waitpid` reported, once the child has ended.
        var waitStatus: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    private let state = Mutex(State())
    private let ended = DispatchSemaphore(value: 0)
    /// Signalled once when the child is reaped, for the watch `killIfRunning` keeps.
    private let reaped = DispatchSemaphore(value: 0)

    public init() {}

    /// A failure to start the child, naming the program.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts the child; it is reaped by a thread of its own the moment it ends.
    public func run() throws {
        guard processIdentifier == 0, let executable = executableURL?.path else {
            throw StartError(description: "a child needs a program and starts once")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var closeAfterSpawn: [FileHandle] = []
        for (target, stream) in [(Int32(0), standardInput), (1, standardOutput), (2, standardError)] {
            let reading = target == 0
            switch stream {
            case let pipe as Pipe:
                let childEnd = reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                posix_spawn_file_actions_adddup2(&actions, childEnd.fileDescriptor, target)
                closeAfterSpawn.append(childEnd)
            case let handle as FileHandle where handle !== FileHandle.nullDevice:
                posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
            default:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", reading ? O_RDONLY : O_WRONLY, 0)
            }
        }
        guard SpawnActions.closeFrom(3, in: &actions) else {
            throw StartError(description: "this C library cannot close a child's descriptors (glibc 2.34 needed)")
        }
        if let directory = currentDirectoryURL?.path, !SpawnActions.changeDirectory(to: directory, in: &actions) {
            throw StartError(description: "this C library cannot start a child in \(directory) (glibc 2.29 needed)")
        }
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
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") }
        defer { variables.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, variables + [nil])
        // This process's copies of the child's ends: the child holds its own, and a reader sees the end only once
        // every writer is gone.
        for handle in closeAfterSpawn { try? handle.close() }
        guard result == 0 else {
            throw StartError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        processIdentifier = pid
        Thread.detachNewThread { [self, pid] in reap(pid) }
    }

    private func reap(_ pid: pid_t) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let waiters = state.withLock { state in
            state.waitStatus = status
            defer { state.waiters = [] }
            return state.waiters
        }
        ended.signal()
        reaped.signal()
        let code = Self.code(status)
        for waiter in waiters { waiter.resume(returning: code) }
    }

    /// Whether it has started and not yet ended.
    public var isRunning: Bool { processIdentifier != 0 && state.withLock { $0.waitStatus == nil } }

    /// Its exit code, or the number of the signal that ended it (as `Process` gives it); only once it has ended.
    public var terminationStatus: Int32 {
        guard let status = state.withLock({ $0.waitStatus }) else { preconditionFailure("the child still runs") }
        return Self.code(status)
    }

    private static func code(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : signal
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    public func interrupt() { signal(SIGINT) }

    /// Sends SIGTERM.
    public func terminate() { signal(SIGTERM) }

    /// Sends `number` to the child, and to nothing else: not once it has been reaped, when its pid may be another's.
    public func signal(_ number: Int32) {
        state.withLock { if $0.waitStatus == nil { _ = kill(processIdentifier, number) } }
    }

    /// Kills the child with SIGKILL if it still runs `seconds` from now, saying so on standard error: a program
    /// that hangs fails its test, naming it, instead of holding a thread until the whole run is stopped.
    ///
    /// The watch is a thread of its own that ends with the child, not a dispatch timer: a run starts thousands of
    /// short children, and a timer left pending for each one's 240 s kept libdispatch's manager thread busy.
    public func killIfRunning(after seconds: Double) {
        let name = ([executableURL?.lastPathComponent ?? "?"] + arguments.prefix(3)).joined(separator: " ")
        Thread.detachNewThread { [self] in
            guard reaped.wait(timeout: .now() + seconds) == .timedOut, isRunning else { return }
            FileHandle.standardError.write(Data("test harness: \(name) ran for \(Int(seconds)) s; killed\n".utf8))
            signal(SIGKILL)
        }
    }

    /// Blocks the calling thread until the child ends; keep it off the cooperative pool (see `exited()`).
    public func waitUntilExit() {
        precondition(processIdentifier != 0, "the child was never started")
        ended.wait()
        // Left signalled, so that every later wait returns too.
        ended.signal()
    }

    /// Waits for the child to end without holding a thread of the cooperative pool; its `terminationStatus`.
    public func exited() async -> Int32 {
        precondition(processIdentifier != 0, "the child was never started")
        return await withCheckedContinuation { continuation in
            let status = state.withLock {
                if $0.waitStatus == nil { $0.waiters.append(continuation) }
                return $0.waitStatus
            }
            if let status { continuation.resume(returning: Self.code(status)) }
        }
    }
}
