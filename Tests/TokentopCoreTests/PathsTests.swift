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
}
