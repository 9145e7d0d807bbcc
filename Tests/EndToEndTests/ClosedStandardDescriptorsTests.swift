import Foundation
import Testing
import TokentopTestSupport

/// A `tokentop` started with descriptors 0, 1 and 2 closed (`tokentop daemon 0<&- 1>&- 2>&-`) fills them with
/// /dev/null before it opens anything, so that no database, eventfd or timerfd takes their numbers and no log line
/// meant for stderr lands in one of them.
struct ClosedStandardDescriptorsTests {
    /// Where descriptor `number` of process `pid` points, or nil when it is not open.
    static func target(of number: Int, in pid: pid_t) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(number)")
    }

    @Test func aDaemonStartedWithoutStandardDescriptorsGetsDevNullOnThem() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", UnicodeIdCommandTests.file(id: "acme-key"))
        let imported = try Binary.run(["import", file], environment: sandbox.environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        // The shell closes the three and becomes the daemon, keeping its process id.
        let daemon = Child()
        daemon.executableURL = URL(fileURLWithPath: "/bin/sh")
        daemon.arguments = ["-c", #"exec "$0" daemon 0<&- 1>&- 2>&-"#, Binary.path]
        daemon.environment = ProcessInfo.processInfo.environment.merging(sandbox.environment) { $1 }
        try daemon.run()
        let background = Binary.Background(daemon)
        defer { background.kill() }
        let pid = daemon.processIdentifier
        // Started: past the exec, with an event or timer descriptor open beside the three.
        let program = URL(fileURLWithPath: Binary.path).resolvingSymlinksInPath().path
        try await DaemonOperationsTests.waitFor(20, "the daemon to open its event descriptors") {
            let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")
            let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let numbers = open.compactMap { Int($0) }.filter { $0 > 2 }
            return exe == program && numbers.contains { Self.target(of: $0, in: pid)?.hasPrefix("anon_inode:") == true }
        }
        for number in 0...2 {
            #expect(Self.target(of: number, in: pid) == "/dev/null", "descriptor \(number)")
        }
        background.signal(SIGTERM)
        #expect(await background.wait() == 0)
    }
}
