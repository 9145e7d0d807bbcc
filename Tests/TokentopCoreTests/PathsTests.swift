import Foundation
import Testing

@testable import TokentopCore

/// Splitting paths as `dirname` and `basename` do, for the short names Foundation's path methods trap on.
struct PathsTests {
    @Test(arguments: [
        ("a", "", "a"), (".", "", "."), ("./", "", "."), ("a//", "", "a"), ("..", "", ".."),
        ("dir/x.json", "dir", "x.json"), ("dir//x", "dir", "x"), ("/x", "/", "x"), ("/", "/", "/"),
        ("/var/lib/tokentop/t.db", "/var/lib/tokentop", "t.db"), ("./a", ".", "a"), ("a/.", "a", "."),
    ])
    func splitsAsDirnameAndBasename(path: String, directory: String, name: String) {
        #expect(Paths.directory(of: path) == directory)
        #expect(Paths.name(of: path) == name)
    }

    @Test func anAtomicFilesTemporaryFileIsADotFileBesideIt() {
        let pid = getpid()
        #expect(AtomicFile.temporaryPath(for: "m") == "./.m.\(pid).tmp")
        #expect(AtomicFile.temporaryPath(for: ".") == "./...\(pid).tmp")
        #expect(AtomicFile.temporaryPath(for: "/srv/metrics.prom") == "/srv/.metrics.prom.\(pid).tmp")
    }

    /// An empty or relative `HOME` falls back to the account's home directory, as the password database names it.
    @Test(arguments: ["", "relative/home"])
    func aHomeThatIsNoAbsolutePathIsTheAccounts(home: String) throws {
        let account = String(cString: try #require(getpwuid(getuid())?.pointee.pw_dir))
        let database = "/.local/share/tokentop/tokentop.sqlite3"
        #expect(Paths.defaultDatabase(environment: ["HOME": home]) == account + database)
        #expect(Paths.configDirectory(environment: ["HOME": home]) == account + "/.config/tokentop")
        #expect(Paths.defaultDatabase(environment: ["HOME": "/srv/ops"]) == "/srv/ops" + database)
    }
}
