import Foundation
import Testing

@testable import TokentopCore

/// Workspace names, members and subjects are bounded and visible: the dashboard lists and filters them every frame.
@Suite struct WorkspaceLimitsImportTests {
    static func file(workspace: String = "\"Sales\"", members: String = "[\"ann@example.com\"]",
                     subject: String = "\"ws:sales\"") -> String {
        """
        {"integrations": [{"id": "vandelay", "provider": "vandelay", "token_url": "https://api.vandelay.test/token",
           "client_id": "fake-client-id", "client_auth": "none"}],
         "connections": [{"id": "ws", "integration": "vandelay", "scope": "workspace", "subject": \(subject),
           "credential": "api_key", "secret": "fake-api-key-0003", "workspace": \(workspace),
           "members": \(members)}]}
        """
    }

    static func error(_ text: String) throws -> String {
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "ws.json") }
        return error.description
    }

    static let prefix = "ws.json: connections[0] (id \"ws\"): "

    @Test func theLimitsThemselvesAreAccepted() throws {
        let members = (0..<1_000).map { "\"m\($0)@\(String(repeating: "a", count: 300))\"" }
        let text = Self.file(
            workspace: "\"\(String(repeating: "w", count: 200))\"", members: "[\(members.joined(separator: ","))]")
        let bundle = try ImportFile.parse(Data(text.utf8), source: "ws.json")
        #expect(bundle.connections[0].members.count == 1_000)
        #expect(bundle.connections[0].workspace?.count == 200)
    }

    @Test func tooManyMembersAreRefused() throws {
        let members = "[" + Array(repeating: "\"a@example.com\"", count: 200_000).joined(separator: ",") + "]"
        #expect(
            try Self.error(Self.file(members: members))
                == Self.prefix + "members: has 200000 entries, more than the 1000 allowed")
    }

    /// A member named twice would be listed twice under a heading that counts one.
    @Test func aRepeatedMemberIsRefused() throws {
        let members = "[\"ann@example.com\", \"bob@example.com\", \"Ann@Example.COM\"]"
        #expect(
            try Self.error(Self.file(members: members))
                == Self.prefix + "members[2]: repeats members[0] (compared without case); name each member once")
        #expect(
            try Self.error(Self.file(members: "[\"ann@example.com\", \" bob@example.com\"]"))
                == Self.prefix + "members[1]: has spaces around it; remove them")
    }

    @Test func aLongMemberOrWorkspaceIsRefused() throws {
        let member = "[\"ok@example.com\", \"\(String(repeating: "b", count: 321))\"]"
        #expect(
            try Self.error(Self.file(members: member)) == Self.prefix + "members[1]: is longer than 320 characters")
        let workspace = "\"\(String(repeating: "w", count: 7_000))\""
        #expect(
            try Self.error(Self.file(workspace: workspace))
                == Self.prefix + "workspace: is 7000 bytes long, more than the 6400 bytes of 200 characters allowed")
        #expect(
            try Self.error(Self.file(workspace: "\"\(String(repeating: "w", count: 5_000))\""))
                == Self.prefix + "workspace: is longer than 200 characters")
        let accented = "\"\(String(repeating: "é", count: 201))\""
        #expect(
            try Self.error(Self.file(workspace: accented)) == Self.prefix + "workspace: is longer than 200 characters")
    }

    @Test(arguments: ["\\u200b", "\\u200c\\u200d", "\\u00ad", "\\u2060", "\\ufeff", " \\u200d "])
    func anInvisibleWorkspaceIsRefused(_ name: String) throws {
        let message = try Self.error(Self.file(workspace: "\"\(name)\""))
        // U+200B and U+FEFF are refused as unsafe anywhere; the rest only when nothing visible is left.
        #expect(
            message.hasPrefix(Self.prefix + "workspace: contains the control or invisible character U+")
                || message == Self.prefix + "workspace: has no visible character, only spaces or invisible "
                    + "format characters; give a name",
            "\(message)")
        if !name.contains("200b"), !name.contains("feff") {
            #expect(message.hasSuffix("give a name"))
        }
    }

    @Test func aLongSubjectIsRefused() throws {
        let longest = "\"\(String(repeating: "s", count: 320))\""
        #expect(try ImportFile.parse(Data(Self.file(subject: longest).utf8), source: "ws.json").connections.count == 1)
        #expect(
            try Self.error(Self.file(subject: "\"\(String(repeating: "s", count: 11_000))\""))
                == Self.prefix + "subject: is 11000 bytes long, more than the 10240 bytes of 320 characters allowed")
        // 320 flags are 320 characters of 8 bytes each.
        let flags = "\"\(String(repeating: "\u{1F1EF}\u{1F1F5}", count: 320))\""
        #expect(try ImportFile.parse(Data(Self.file(subject: flags).utf8), source: "ws.json").connections.count == 1)
        #expect(
            try Self.error(Self.file(subject: "\"\(String(repeating: "é", count: 321))\""))
                == Self.prefix + "subject: is longer than 320 characters")
    }

    @Test func anIdMadeFromALongSubjectIsNamedAsMadeNotGiven() throws {
        let text = Self.file(subject: "\"\(String(repeating: "z", count: 320))\"")
            .replacingOccurrences(of: "{\"id\": \"ws\", ", with: "{")
        let error = try #require(throws: ImportError.self) { try ImportFile.parse(Data(text.utf8), source: "ws.json") }
        #expect(error.description.hasSuffix(
            "id: missing, and the one made from the integration and the subject would be longer than 200 characters; "
                + "give the connection an \"id\""), "\(error.description)")
    }

    @Test func anInvisibleSubjectIsRefused() throws {
        #expect(
            try Self.error(Self.file(subject: "\"\\u2060\\u00ad\""))
                == Self.prefix + "subject: has no visible character, only spaces or invisible format "
                + "characters")
    }

    @Test(arguments: [("\\u2028", "2028"), ("\\u2029", "2029")])
    func lineSeparatorsAreRefused(_ escape: String, _ code: String) throws {
        #expect(
            try Self.error(Self.file(workspace: "\"Sa\(escape)les\""))
                == Self.prefix + "workspace: contains the control or invisible character U+\(code); remove it")
        #expect(
            try Self.error(Self.file(members: "[\"a\(escape)b@example.com\"]"))
                == Self.prefix + "members[0]: contains the control or invisible character U+\(code); remove it")
        #expect(SafeText.clean("a\u{2028}b") == "a\u{FFFD}b")
    }

    @Test func anEmptyMemberIsNamedAsEmpty() throws {
        #expect(
            try Self.error(Self.file(members: "[\"a@example.com\", \"b@example.com\", \"\"]"))
                == Self.prefix + "members[2]: expected a non-empty string, found an empty string")
    }

    @Test func aJoinedEmojiNameStaysAllowed() throws {
        let bundle = try ImportFile.parse(
            Data(Self.file(workspace: "\"Team \\ud83d\\udc69\\u200d\\ud83d\\udcbb\"").utf8), source: "ws.json")
        #expect(bundle.connections[0].workspace == "Team \u{1F469}\u{200D}\u{1F4BB}")
    }
}
