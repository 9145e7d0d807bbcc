import Foundation
import Testing

@testable import TokentopCore

struct JSONWriterTests {
    @Test(arguments: ["plain", "quote \" and backslash \\", "line\nbreak\ttab\r", "\u{01}\u{1f} control", "é 漢字 👩‍💻", ""])
    func stringsSurviveARoundTrip(text: String) throws {
        var writer = JSONWriter()
        writer.object([("text", .string(text)), ("none", .string(nil)), ("n", .int(-7)), ("list", .strings([text]))])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
        #expect(object["text"] as? String == text)
        #expect(object["none"] is NSNull)
        #expect(object["n"] as? Int == -7)
        #expect(object["list"] as? [String] == [text])
    }

    @Test func listJSONIsOneArrayWithOneElementPerLine() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let connections = (0..<3).map { index in
            Connection(
                id: "c\(index)", integrationID: "i", scope: .user, subject: "u\(index)@example.com",
                credential: .oauth2, grant: .none, expiresAt: now.addingTimeInterval(60), createdAt: now)
        }
        let text = ConnectionReport.json(
            DashboardSnapshot(databasePath: "x", connections: connections), connections: connections, at: now)
        #expect(text.split(separator: "\n").count == 5)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]])
        #expect(array.map { $0["id"] as? String } == ["c0", "c1", "c2"])
        #expect(array[0]["expires_at"] as? String == "2027-01-15T08:01:00Z")
        #expect(ConnectionReport.json(DashboardSnapshot(databasePath: "x"), connections: [], at: now) == "[]")
    }
}
