import Foundation
import Testing

@testable import TokentopCore

/// The snapshot's chunked list of connections behaves as the array it replaced.
@Suite struct ConnectionListTests {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func connection(_ number: Int) -> Connection {
        Connection(
            id: String(format: "c%05d", number), integrationID: "acme", scope: .user, subject: "u\(number)@example.com",
            credential: .oauth2, grant: .refreshToken, refreshFingerprint: "…\(number)", createdAt: epoch)
    }

    /// Counts on both sides of chunk boundaries.
    @Test(
        arguments: [
            0, 1, ConnectionList.chunkSize - 1, ConnectionList.chunkSize, ConnectionList.chunkSize + 1, 1_700,
        ])
    func holdsWhatWasAppendedInOrder(count: Int) {
        let connections = (0..<count).map(Self.connection)
        let list = ConnectionList(connections)
        #expect(list.count == count)
        #expect(list.isEmpty == (count == 0))
        #expect(Array(list) == connections)
        #expect(list.map(\.id) == connections.map(\.id))
        if count > 0 { #expect(list[count - 1].id == connections[count - 1].id) }
    }

    /// A copy that rewrote one connection differs from the original only in that connection's chunk; a copy that
    /// wrote nothing, in none; a list of another count cannot be compared.
    @Test func positionsChangedAreTheChunksRewrittenSince() {
        let original = ConnectionList((0..<200).map(Self.connection))
        var next = original
        #expect(next.positionsChanged(since: original) == [])
        next[70].subject = "changed@example.com"
        let size = ConnectionList.chunkSize
        #expect(next.positionsChanged(since: original) == [size..<2 * size])
        next[199].subject = "last@example.com"
        #expect(next.positionsChanged(since: original) == [size..<2 * size, 3 * size..<200])
        #expect(original.positionsChanged(since: next) == [size..<2 * size, 3 * size..<200])
        var longer = original
        longer.append(Self.connection(200))
        #expect(longer.positionsChanged(since: original) == nil)
    }

    /// Built by moving the elements into the order given: identity, reversed, one long cycle, many short ones, and
    /// a shuffle, on both sides of chunk boundaries.
    @Test(arguments: [0, 1, 2, ConnectionList.chunkSize, ConnectionList.chunkSize + 1, 1_031])
    func movesElementsIntoTheOrderGiven(count: Int) {
        let connections = (0..<count).map(Self.connection)
        var generator = SystemRandomNumberGenerator()
        let orders: [[Int]] = [
            Array(0..<count), Array((0..<count).reversed()), (0..<count).map { ($0 + 1) % max(count, 1) },
            (0..<count).map { $0 ^ 1 < count ? $0 ^ 1 : $0 }, Array(0..<count).shuffled(using: &generator),
        ]
        for order in orders {
            let list = ConnectionList(moving: connections, order: order)
            #expect(Array(list) == order.map { connections[$0] }, "order \(order.prefix(8))")
        }
    }

    @Test func aWriteToACopyLeavesTheOriginalAlone() {
        let original = ConnectionList((0..<1_200).map(Self.connection))
        var copy = original
        copy[700].failures = 3
        copy[3] = Self.connection(9_999)
        #expect(original[700].failures == 0)
        #expect(original[3].id == "c00003")
        #expect(copy[700].failures == 3)
        #expect(copy[3].id == "c09999")
        #expect(copy != original)
        copy[700].failures = 0
        copy[3] = Self.connection(3)
        #expect(copy == original)
    }

    @Test func insertAndRemoveKeepTheOrder() {
        var list = ConnectionList((0..<1_030).map(Self.connection))
        list.insert(Self.connection(5_000), at: 512)
        #expect(list.count == 1_031)
        #expect(list[511].id == "c00511")
        #expect(list[512].id == "c05000")
        #expect(list[513].id == "c00512")
        list.removeAll { $0.id.hasSuffix("0") }
        #expect(list.count == 1_031 - 103 - 1)
        #expect(list.allSatisfy { !$0.id.hasSuffix("0") })
        #expect(Array(list.map(\.id)) == list.map(\.id).sorted())
        list.append(Self.connection(9))
        #expect(list.last?.id == "c00009")
    }

    @Test func filterGivesAnArrayAsBefore() {
        let list: ConnectionList = [Self.connection(1), Self.connection(2)]
        let chosen: [Connection] = list.filter { $0.id == "c00002" }
        #expect(chosen.map(\.id) == ["c00002"])
    }
}
