import Foundation
import TokentopCore

/// The filter's haystack: each connection's id, subject, integration, provider, workspace and parent, folded
/// (NFC, lower case), in one contiguous buffer, with the answers to recent filters kept for narrowing.
///
/// Built once and kept while the connections' searchable fields stay the same, however often the snapshot version
/// changes (a refresh changes none of them). A keystroke that extends the filter searches only the connections the
/// shorter filter matched, so typing narrows in time proportional to the matches, not to every connection.
struct SearchIndex {
    private(set) var version: UInt64
    /// Every record's folded text; a NUL byte separates fields and ends each record, so no match spans two.
    private var bytes: [UInt8] = []
    /// Record `i` is `bytes[starts[i]..<starts[i + 1]]`.
    private var starts: [Int] = [0]
    /// The fields each record was built from, to tell whether a new snapshot needs a rebuild.
    private var sources: [Source] = []
    private var providers: [String: String] = [:]
    /// Recent filters and the records they matched, newest last.
    private var recent: [(needle: [UInt8], matches: [Int])] = []
    private static let recentLimit = 32

    private struct Source: Equatable {
        var id: String
        var subject: String
        var integrationID: String
        var workspace: String?
        var parentID: String?

        init(_ connection: Connection) {
            id = connection.id
            subject = connection.subject
            integrationID = connection.integrationID
            workspace = connection.workspaceName
            parentID = connection.parentID
        }
    }

    init(snapshot: DashboardSnapshot) {
        version = snapshot.version
        rebuild(snapshot)
    }

    /// How many connections the index holds.
    var count: Int { sources.count }

    /// Takes a new snapshot, rebuilding only when a searchable field changed; returns whether it rebuilt.
    @discardableResult
    mutating func adopt(_ snapshot: DashboardSnapshot) -> Bool {
        guard snapshot.version != version else { return false }
        version = snapshot.version
        if sources.count == snapshot.connections.count, providers == Self.providers(snapshot) {
            var same = true
            for (position, connection) in snapshot.connections.enumerated() {
                if sources[position] != Source(connection) {
                    same = false
                    break
                }
            }
            if same { return false }
        }
        rebuild(snapshot)
        return true
    }

    /// The positions (ascending) of the connections whose fields contain `filter`, compared folded.
    mutating func search(_ filter: String) -> [Int] {
        let needle = Array(Self.fold(filter).utf8)
        guard !needle.isEmpty else { return Array(0..<count) }
        if let known = recent.first(where: { $0.needle == needle }) { return known.matches }
        // The longest earlier filter inside this one matched a superset of this one's records.
        let base = recent.filter { Self.contains($0.needle, needle) }.max { $0.needle.count < $1.needle.count }
        let matches = base.map { narrow($0.matches, needle: needle) } ?? scan(needle: needle)
        recent.append((needle, matches))
        if recent.count > Self.recentLimit { recent.removeFirst() }
        return matches
    }

    /// The form both sides are compared in: composed (NFC) and lower-cased.
    static func fold(_ text: String) -> String {
        text.precomposedStringWithCanonicalMapping.lowercased()
    }

    /// Whether connection `index` contains `needle`, which must already be folded (see ``fold(_:)``).
    func matches(_ index: Int, needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        return find(needle, in: starts[index]..<starts[index + 1]) != nil
    }

    // MARK: - Building

    private mutating func rebuild(_ snapshot: DashboardSnapshot) {
        providers = Self.providers(snapshot)
        recent = []
        bytes = []
        bytes.reserveCapacity(snapshot.connections.count * 64)
        starts = [0]
        starts.reserveCapacity(snapshot.connections.count + 1)
        sources = []
        sources.reserveCapacity(snapshot.connections.count)
        for connection in snapshot.connections {
            let provider = providers[connection.integrationID] ?? ""
            let fields = [
                connection.id, connection.subject, connection.integrationID, provider,
                connection.workspaceName ?? "", connection.parentID ?? "",
            ]
            for field in fields {
                Self.appendFolded(field, to: &bytes)
                bytes.append(0)
            }
            starts.append(bytes.count)
            sources.append(Source(connection))
        }
    }

    private static func providers(_ snapshot: DashboardSnapshot) -> [String: String] {
        snapshot.integrations.mapValues(\.provider)
    }

    /// Appends `text` folded; ASCII, which nearly every id and address is, is lower-cased byte by byte, which gives
    /// the same bytes as ``fold(_:)`` at a fraction of the cost.
    private static func appendFolded(_ text: String, to bytes: inout [UInt8]) {
        var utf8 = text.utf8
        if utf8.allSatisfy({ $0 < 0x80 }) {
            bytes.append(contentsOf: utf8.lazy.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 })
        } else {
            utf8 = fold(text).utf8
            bytes.append(contentsOf: utf8)
        }
    }

    // MARK: - Matching

    /// Every record that contains `needle`, by one pass over the whole buffer.
    private func scan(needle: [UInt8]) -> [Int] {
        var matches: [Int] = []
        var record = 0
        var from = 0
        while from < bytes.count, let hit = find(needle, in: from..<bytes.count) {
            while starts[record + 1] <= hit { record += 1 }
            matches.append(record)
            from = starts[record + 1]
            record += 1
        }
        return matches
    }

    /// Those of `candidates` that contain `needle`.
    private func narrow(_ candidates: [Int], needle: [UInt8]) -> [Int] {
        candidates.filter { find(needle, in: starts[$0]..<starts[$0 + 1]) != nil }
    }

    /// The offset of the first `needle` in `bytes[range]`.
    private func find(_ needle: [UInt8], in range: Range<Int>) -> Int? {
        guard range.count >= needle.count else { return nil }
        return bytes.withUnsafeBufferPointer { haystack in
            needle.withUnsafeBufferPointer { pattern in
                Self.find(pattern, in: UnsafeBufferPointer(rebasing: haystack[range])).map { range.lowerBound + $0 }
            }
        }
    }

    /// Whether `needle` occurs in `haystack`.
    private static func contains(_ needle: [UInt8], _ haystack: [UInt8]) -> Bool {
        haystack.withUnsafeBufferPointer { outer in
            needle.withUnsafeBufferPointer { inner in find(inner, in: outer) != nil }
        }
    }

    /// The offset of `needle` in `haystack`: `memchr` to the next candidate first byte, `memcmp` for the rest
    /// (Glibc's `memmem` is not visible to Swift without `_GNU_SOURCE`).
    private static func find(_ needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = needle.first else { return 0 }
        guard needle.count <= haystack.count, let base = haystack.baseAddress else { return nil }
        let last = haystack.count - needle.count
        var offset = 0
        while offset <= last {
            guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return nil }
            let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if needle.count == 1 || memcmp(base + at + 1, needle.baseAddress! + 1, needle.count - 1) == 0 {
                return at
            }
            offset = at + 1
        }
        return nil
    }
}
