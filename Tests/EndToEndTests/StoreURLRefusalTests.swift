import Foundation
import Testing

/// `--store` and `TOKENTOP_STORE` take a PostgreSQL URL and nothing else: a libpq `key=value` string is refused,
/// quoted without its password, and never becomes an SQLite file named after it.
struct StoreURLRefusalTests {
    static let password = "fake-QQQQ-pass"
    static let keywords = [
        "host=127.0.0.1 port=48007 dbname=tt2 user=op password=\(password)",
        "host=127.0.0.1 dbname=tt2 password = '\(password) with \\' spaces' user=op",
    ]
    static let shown = [
        "host=127.0.0.1 port=48007 dbname=tt2 user=op password=[redacted] is not a PostgreSQL URL",
        "host=127.0.0.1 dbname=tt2 password = [redacted] user=op is not a PostgreSQL URL",
    ]

    /// The files of `directory`, by name.
    static func files(in directory: URL) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
    }

    @Test(arguments: zip(keywords, shown))
    func aKeyValueStringGivenToStoreIsRefusedWithoutItsPassword(value: String, shown: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", UnicodeIdCommandTests.file(id: "acme-key"))
        let before = try Self.files(in: sandbox.root)
        for command in [["status"], ["list"], ["import", file]] {
            let run = try Binary.run(
                executable: Binary.path, command + ["--store", value], environment: sandbox.environment,
                directory: sandbox.root)
            // `status` is a monitoring check: a command line it cannot run is UNKNOWN.
            #expect(run.status == (command == ["status"] ? 3 : 2), "\(command): \(run.stderr)")
            #expect((run.stdout + run.stderr).contains("--store \(shown)"), "\(command): \(run.stdout)\(run.stderr)")
            #expect(!(run.stdout + run.stderr).contains(Self.password), "\(command)")
        }
        #expect(try Self.files(in: sandbox.root) == before)
    }

    @Test(arguments: zip(keywords, shown))
    func aKeyValueStringInTokentopStoreIsRefusedAndNoFileIsMade(value: String, shown: String) throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", UnicodeIdCommandTests.file(id: "acme-key"))
        let before = try Self.files(in: sandbox.root)
        var environment = sandbox.environment
        environment["TOKENTOP_STORE"] = value
        for command in [["import", file], ["status"], ["list"], ["migrate"], ["config"]] {
            let run = try Binary.run(
                executable: Binary.path, command, environment: environment, directory: sandbox.root)
            #expect(run.status == (command == ["status"] ? 3 : 1), "\(command): \(run.stderr)")
            #expect(
                (run.stdout + run.stderr).contains("TOKENTOP_STORE \(shown)"),
                "\(command): \(run.stdout)\(run.stderr)")
            #expect(!(run.stdout + run.stderr).contains(Self.password), "\(command)")
        }
        #expect(try Self.files(in: sandbox.root) == before)
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
    }
}
