import Foundation
import TokentopCore

/// The filter's haystack: each connection's id, subject, integration, provider, workspace and parent, lower-cased,
/// as UTF-8 bytes.
///
/// Built once per snapshot version, and only while a filter is in use, so that each keystroke of the filter is a
/// byte scan (milliseconds at 100,000 connections) rather than a case-folding comparison per field.
struct SearchIndex {
    let version: UInt64
    private let haystacks: [[UInt8]]

    init(snapshot: DashboardSnapshot) {
        version = snapshot.version
        haystacks = snapshot.connections.map { connection in
            let provider = snapshot.integrations[connection.integrationID]?.provider ?? ""
            // A separator that no needle contains keeps a match from spanning two fields.
            let text = [
                connection.id, connection.subject, connection.integrationID, provider,
                connection.workspaceName ?? "", connection.parentID ?? "",
            ].joined(separator: "\u{0}")
            return Array(Self.fold(text).utf8)
        }
    }

    /// The form both sides are compared in: composed (NFC) and lower-cased.
    static func fold(_ text: String) -> String {
        text.precomposedStringWithCanonicalMapping.lowercased()
    }

    /// Whether connection `index` contains `needle`, which must already be folded (see ``fold(_:)``).
    func matches(_ index: Int, needle: [UInt8]) -> Bool {
        let haystack = haystacks[index]
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        var start = 0
        while start <= haystack.count - needle.count {
            if haystack[start] == first {
                var offset = 1
                while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return true }
            }
            start += 1
        }
        return false
    }
}
