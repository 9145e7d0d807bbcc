import Foundation
import Testing

@testable import TokentopTUI

/// Where the binary looks for its shipped themes: beside itself, in real folders, never from the current directory.
@Suite struct ShippedThemesDirectoryTests {
    /// A temporary tree with `default.theme` in each of `themes` and an empty file at each of `files`.
    static func tree(themes: [String], files: [String]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tt-shipped-\(UUID())")
        for folder in themes {
            let url = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data("header = bold\n".utf8).write(to: url.appendingPathComponent("default.theme"))
        }
        for file in files {
            let url = root.appendingPathComponent(file)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
        return root
    }

    @Test func anInstalledBinaryFindsShareTokentopThemes() throws {
        let root = try Self.tree(themes: ["prefix/share/tokentop/themes", "prefix/bin/themes"], files: [])
        defer { try? FileManager.default.removeItem(at: root) }
        let found = ShippedThemesDirectory.find(executable: root.path + "/prefix/bin/tokentop")
        #expect(found == root.path + "/prefix/share/tokentop/themes")
    }

    @Test(arguments: [".build/debug/tokentop", ".build/x86_64-unknown-linux-gnu/release/tokentop"])
    func aBinaryInACheckoutsBuildFolderFindsTheCheckoutsThemes(executable: String) throws {
        let root = try Self.tree(themes: ["repo/themes"], files: ["repo/Package.swift"])
        defer { try? FileManager.default.removeItem(at: root) }
        let found = ShippedThemesDirectory.find(executable: "\(root.path)/repo/\(executable)")
        #expect(found == root.path + "/repo/themes")
    }

    @Test func aThemesFolderAboveTheBinaryThatIsNoLayoutOfOursIsIgnored() throws {
        // The tester's case: `plant/themes/` above `plant/a/b`, and a `.build` folder with no package beside it.
        let root = try Self.tree(themes: ["plant/themes", "loose/themes"], files: [])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ShippedThemesDirectory.find(executable: root.path + "/plant/a/b/tokentop") == nil)
        #expect(ShippedThemesDirectory.find(executable: root.path + "/plant/a/tokentop") == nil)
        #expect(ShippedThemesDirectory.find(executable: root.path + "/loose/.build/debug/tokentop") == nil)
    }

    @Test func theRunningExecutableIsAnAbsoluteRealPath() throws {
        let path = try #require(ShippedThemesDirectory.runningExecutable())
        #expect(path.hasPrefix("/"))
        #expect(FileManager.default.isExecutableFile(atPath: path))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil)
    }
}
