import Foundation
import Testing

/// Runs programs as the unprivileged `nobody` user, for faults that file modes cause: the tests run as root, and
/// root writes any file whatever its mode.
enum Unprivileged {
    /// The command prefix that drops to `nobody` (`setpriv`, else `runuser`); nil when the machine has neither.
    static var prefix: [String]? {
        let manager = FileManager.default
        if manager.isExecutableFile(atPath: "/usr/bin/setpriv") {
            return ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        }
        for path in ["/usr/sbin/runuser", "/sbin/runuser"] where manager.isExecutableFile(atPath: path) {
            return [path, "-u", "nobody", "--"]
        }
        return nil
    }

    /// `prefix`, or a failure saying what is missing: the test must not pass without dropping privileges.
    static func requirePrefix() throws -> [String] {
        guard getuid() == 0 else {
            throw OAuthServerFixture.Failure("dropping to nobody needs the tests to run as root")
        }
        guard let prefix else { throw OAuthServerFixture.Failure("neither setpriv nor runuser is installed") }
        return prefix
    }

    /// The command line that runs `arguments` as nobody with only `environment` (and a PATH) set.
    static func command(_ arguments: [String], environment: [String: String]) throws -> [String] {
        let variables = (["PATH": "/usr/bin:/bin"].merging(environment) { $1 }).sorted { $0.key < $1.key }
        return try requirePrefix() + ["/usr/bin/env", "-i"] + variables.map { "\($0.key)=\($0.value)" } + arguments
    }

    /// Runs `arguments` as nobody and waits for it.
    static func run(_ arguments: [String], environment: [String: String]) throws -> Binary.Run {
        let line = try command(arguments, environment: environment)
        return try Binary.run(executable: line[0], Array(line.dropFirst()))
    }

    /// A copy of the tokentop binary in `directory` that nobody may run, whatever the modes above the original.
    static func copyOfBinary(into directory: URL) throws -> String {
        let copy = directory.appendingPathComponent("tokentop").path
        try installExecutable(from: Binary.path, to: copy)
        return copy
    }

    /// Copies `source` to an executable `destination` with `install`, in a process of its own.
    ///
    /// Written from this process, the file could not be run at once: a child another test spawns at that moment
    /// inherits the open descriptor, and exec then fails with "Text file busy" for as long as that child lives.
    static func installExecutable(from source: String, to destination: String) throws {
        let run = try Binary.run(executable: "/usr/bin/env", ["install", "-m", "0755", source, destination])
        guard run.status == 0 else { throw OAuthServerFixture.Failure("install failed: \(run.stderr)") }
    }
}
