import Foundation
import Testing

@testable import TokentopCore

/// A demo killed outright leaves its directory; the next demo removes it, and nothing else.
@Suite struct DemoDirectoryTests {
    let parent: String

    init() throws {
        parent = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-demos-\(UUID())").path
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
    }

    /// A directory as a demo leaves it, its lock file written `age` seconds ago.
    func leftBehind(_ name: String, holding files: [String], age: Double = 120) throws -> String {
        let directory = parent + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        for file in files { #expect(FileManager.default.createFile(atPath: directory + "/" + file, contents: Data())) }
        let lock = directory + "/" + DemoDirectory.lockName
        if FileManager.default.fileExists(atPath: lock) {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-age)], ofItemAtPath: lock)
        }
        return directory
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test func theNextDemoRemovesOnlyDirectoriesOfDemosThatAreGone() throws {
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let stale = try leftBehind(
            "tokentop-demo-Stale1", holding: ["running.lock", "demo.sqlite3", "demo.sqlite3-wal", "demo.sqlite3-shm"])
        let foreign = try leftBehind("tokentop-demo-Other1", holding: ["running.lock", "notes.txt"])
        let unlocked = try leftBehind("tokentop-demo-NoLock", holding: ["demo.sqlite3"])
        let starting = try leftBehind("tokentop-demo-Fresh1", holding: ["running.lock"], age: 0)
        try FileManager.default.createSymbolicLink(atPath: parent + "/tokentop-demo-Link01", withDestinationPath: stale)
        let running = try DemoDirectory(in: parent)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: running.path + "/running.lock")

        let next = try DemoDirectory(in: parent)
        #expect(!exists(stale))
        #expect(exists(foreign), "a file no demo writes keeps its directory")
        #expect(exists(unlocked), "no lock file: not a demo of this kind, or one about to make it")
        #expect(exists(starting), "a lock file under a minute old may be about to be locked")
        #expect(exists(running.path), "its demo still holds the lock")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: parent + "/tokentop-demo-Link01")) != nil)
        #expect(exists(next.database) == false && exists(next.path))

        next.remove()
        running.remove()
        #expect(!exists(next.path) && !exists(running.path))
    }
}
