import CSQLite
import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// A large store's export is written a block at a time as its rows are read, and restored table by table: neither
/// side holds the whole document, and a failure midway leaves nothing behind.
@Suite struct ExportStreamingTests {
    /// The fixture store with `count` more connections, enough rows for an export of several blocks.
    static func largerSource(_ directory: StoreTemporaryDirectory, count: Int) throws -> Store {
        let store = try StoreExportTests.source(directory)
        let connections = (0..<count).map {
            StoreFixtures.connection(
                String(format: "acme-user-%04d", $0), access: String(format: "fake-access-token-1%03d", $0))
        }
        _ = try store.importBundle(
            ImportBundle(source: "more.json", integrations: [], connections: connections), at: StoreFixtures.epoch)
        return store
    }

    /// Gives the history entry with the highest number one beyond what a JSON number carries exactly, which the
    /// export refuses when it reaches that row: after every integration and connection has been written.
    static func breakLastHistoryEntry(_ store: Store) {
        var handle: OpaquePointer?
        #expect(sqlite3_open(store.path, &handle) == SQLITE_OK)
        defer { sqlite3_close(handle) }
        let sql = "UPDATE history SET id = 1152921504606846976 WHERE id = (SELECT max(id) FROM history)"
        #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK)
    }

    @Test func theDocumentIsHandedOnABlockAtATimeAndMatchesTheFile() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.largerSource(directory, count: 40)
        var blocks: [[UInt8]] = []
        let summary = try StoreExport.write(store, at: StoreExportTests.later, blockSize: 1_024, cutShort: "-") {
            blocks.append($0)
        }
        #expect(summary.connections == 42)
        let file = directory.file("store.json")
        _ = try StoreExport.run(store: store, to: file, user: "tester", at: StoreExportTests.later)
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(blocks.joined().elementsEqual(written))
        // Each block is handed on once it passes the block size: one row more at most, never the whole document.
        #expect(blocks.count > 20, "\(blocks.count) blocks for \(written.count) bytes")
        #expect(blocks.allSatisfy { $0.count < 4_096 }, "\(blocks.map(\.count))")
    }

    /// A row the export cannot write, met after the first blocks reached the temporary file, leaves the earlier
    /// export in place, no temporary file, and a message that names the row and the column.
    @Test func anExportThatFailsMidwayLeavesNoFileAndSaysWhere() throws {
        let directory = try StoreTemporaryDirectory()
        let store = try Self.largerSource(directory, count: 120)
        let file = directory.file("store.json")
        let exported = try StoreExport.run(store: store, to: file, user: "tester", at: StoreExportTests.later)
        let earlier = try Data(contentsOf: URL(fileURLWithPath: file))
        #expect(earlier.count > 2 * StoreExport.blockSize, "the export must pass through several blocks")
        Self.breakLastHistoryEntry(store)

        let error = try #require(throws: StoreError.self) {
            try StoreExport.run(store: store, to: file, user: "tester", at: StoreExportTests.later)
        }
        let row = "tables.history[\(exported.history - 1)] (id 1152921504606846976)"
        #expect(
            error.message
                == "cannot export \(store.path): \(row): id holds 1152921504606846976, beyond the integers a JSON "
                + "number carries exactly; nothing was written")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == earlier)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(left.isEmpty, "\(left)")
        #expect(try store.auditLog().last?.outcome == "failed")

        // Where the blocks cannot be taken back (standard output), the message says what was left.
        var emitted = 0
        let cut = try #require(throws: StoreError.self) {
            try StoreExport.write(
                store, at: StoreExportTests.later, cutShort: "standard output holds an incomplete export"
            ) { emitted += $0.count }
        }
        #expect(emitted > 0)
        #expect(cut.message.hasSuffix("; standard output holds an incomplete export"), "\(cut.message)")
    }

    /// An export rewritten by another program (members in another order, `format` after `tables`, no line breaks)
    /// is read member by member all the same, and restores the same store.
    @Test func anExportWithItsMembersReorderedRestores() throws {
        let directory = try StoreTemporaryDirectory()
        let good = directory.file("store.json")
        let store = try Self.largerSource(directory, count: 3)
        let exported = try StoreExport.run(store: store, to: good, user: "tester", at: StoreExportTests.later)
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: good))) as? [String: Any])
        var text = String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)
        // Move `format` last, wherever the writer put it.
        let format = #""format":"tokentop-export""#
        text = text.replacingOccurrences(of: format + ",", with: "").replacingOccurrences(of: "," + format, with: "")
        text.removeLast()
        text += "," + format + "}"
        let file = directory.file("reordered.json")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let target = directory.file("target.sqlite3")
        let summary = try ImportFile.run(
            path: file, openStore: StoreExportTests.openTarget(target), user: "tester", at: StoreExportTests.later)
        #expect(summary.wholeStore == exported)
        let restored = try Store.open(path: target, secrets: SecretBox(key: StoreFixtures.key), create: false)
        #expect(try restored.connections() == (try store.connections()))
        #expect(try restored.verifyAudit().isIntact)
    }
}
