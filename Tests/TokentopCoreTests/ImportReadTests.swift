import Foundation
import Testing

@testable import TokentopCore

/// What `tokentop import PATH` says about a path that holds no import file, before any database is opened.
@Suite struct ImportReadTests {
    struct NoStore: Error {}

    static func failure(_ path: String) throws -> String {
        let error = try #require(throws: ImportError.self) {
            try ImportFile.run(
                path: path, openStore: { _ in throw NoStore() }, user: "operator", at: StoreFixtures.epoch)
        }
        return error.description
    }

    @Test func devNullIsNamedAsNotARegularFile() throws {
        #expect(
            try Self.failure("/dev/null")
                == "/dev/null: cannot read the file: it is a character device, not a regular file; give a JSON file, "
                + "or - to read standard input")
    }

    @Test(arguments: ["", "  \n\t\r\n"])
    func anEmptyFileIsNamedAsEmpty(_ content: String) throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("empty.json")
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        #expect(
            try Self.failure(path)
                == "\(path): the file is empty; expected a JSON object with \"integrations\" and \"connections\" "
                + "arrays")
    }

    /// A file over the limit is refused after reading one byte more than it: a sparse 2 GiB file costs 64 MiB.
    @Test(arguments: [Int64(ImportFile.maximumFileBytes) + 1, 2 << 30])
    func aFileOverTheLimitIsRefusedNamingTheLimit(size: Int64) throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("huge.json")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        #expect(truncate(path, off_t(size)) == 0)
        #expect(
            try Self.failure(path)
                == "\(path): the file is more than the 64 MiB an import file may be; nothing was imported")
    }

    @Test func aFileOfExactlyTheLimitIsRead() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("limit.json")
        var data = Data("{}".utf8)
        data.append(Data(repeating: UInt8(ascii: " "), count: ImportFile.maximumFileBytes - data.count))
        try data.write(to: URL(fileURLWithPath: path))
        #expect(try ImportFile.read(path) == [UInt8](data))
    }

    /// `tokentop export` writes `format` first; such a file may be larger, since a big store's export is.
    @Test func anExportMayBeLargerThanAnImportFile() throws {
        let directory = try StoreTemporaryDirectory()
        let path = directory.file("export.json")
        var data = Data("{\n\"format\":\"tokentop-export\",\n\"pad\":\"".utf8)
        data.append(Data(repeating: UInt8(ascii: "a"), count: ImportFile.maximumFileBytes))
        try data.write(to: URL(fileURLWithPath: path))
        #expect(try ImportFile.read(path).count == data.count)
    }

    @Test func aDirectoryAndAMissingFileKeepTheirWords() throws {
        let directory = try StoreTemporaryDirectory()
        #expect(try Self.failure(directory.path) == "\(directory.path): cannot read the file: it is a directory")
        let missing = directory.file("gone.json")
        #expect(try Self.failure(missing) == "\(missing): cannot read the file: no such file")
    }
}
