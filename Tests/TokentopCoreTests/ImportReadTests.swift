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

    @Test func aDirectoryAndAMissingFileKeepTheirWords() throws {
        let directory = try StoreTemporaryDirectory()
        #expect(try Self.failure(directory.path) == "\(directory.path): cannot read the file: it is a directory")
        let missing = directory.file("gone.json")
        #expect(try Self.failure(missing) == "\(missing): cannot read the file: no such file")
    }
}
