import Foundation
import Testing

@testable import TokentopCore

/// The running status counts always equal a count of every connection, as the clock moves and connections change.
@Suite struct StatusTallyTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)
    static let policy = RefreshPolicy.standard

    /// Connections in every status and about to change: lead windows and expiries spread over the next hour.
    static func fleet(_ count: Int) -> [Connection] {
        (0..<count).map { index in
            let issued = start.addingTimeInterval(-Double(index % 97) * 60)
            var connection = Connection(
                id: "c\(index)", integrationID: "acme", scope: IdentityScope.allCases[index % 5],
                subject: "s\(index)", credential: index % 11 == 0 ? .apiKey : .oauth2,
                grant: index % 11 == 0 ? .none : .refreshToken,
                refreshFingerprint: index % 7 == 0 ? nil : "…\(index)", issuedAt: issued,
                expiresAt: index % 11 == 0 ? nil : issued.addingTimeInterval(Double(600 + index % 13 * 300)),
                createdAt: issued)
            if index % 17 == 0 { connection.failures = 2 }
            if index % 19 == 0 { connection.reauthReason = "invalid_grant" }
            if index % 23 == 0 { connection.revokedAt = issued }
            return connection
        }
    }

    static func scan(_ list: ConnectionList, inFlight: Set<String>, at now: Date) -> [ConnectionStatus: Int] {
        var counts: [ConnectionStatus: Int] = [:]
        for connection in list {
            let status = connection.status(at: now, inFlight: inFlight.contains(connection.id), policy: policy)
            counts[status, default: 0] += 1
        }
        return counts
    }

    static func nonZero(_ counts: [ConnectionStatus: Int]) -> [ConnectionStatus: Int] {
        counts.filter { $0.value > 0 }
    }

    @Test func followsTheClockAcrossLeadWindowsAndExpiries() {
        let list = ConnectionList(Self.fleet(2_000))
        var tally = StatusTally(list, inFlight: [], policy: Self.policy, at: Self.start)
        #expect(Self.nonZero(tally.counts) == Self.scan(list, inFlight: [], at: Self.start))
        for step in 1...40 {
            let now = Self.start.addingTimeInterval(Double(step) * 97)
            tally.advance(to: now, list, inFlight: [])
            #expect(Self.nonZero(tally.counts) == Self.scan(list, inFlight: [], at: now), "at step \(step)")
        }
    }

    @Test func followsWritesAndRefreshesInFlight() {
        var list = ConnectionList(Self.fleet(1_500))
        var inFlight: Set<String> = []
        var tally = StatusTally(list, inFlight: inFlight, policy: Self.policy, at: Self.start)
        var now = Self.start
        for step in 0..<300 {
            let position = (step * 37) % list.count
            switch step % 3 {
            case 0:
                inFlight.insert(list[position].id)
            case 1:
                // A refresh result: a fresh token, no failures.
                list[position].issuedAt = now
                list[position].expiresAt = now.addingTimeInterval(Double(300 + step))
                list[position].failures = 0
                inFlight.remove(list[position].id)
            default:
                list[position].failures += 1
            }
            tally.update(position, list, inFlight: inFlight)
            now = now.addingTimeInterval(7)
            tally.advance(to: now, list, inFlight: inFlight)
            #expect(Self.nonZero(tally.counts) == Self.scan(list, inFlight: inFlight, at: now), "at step \(step)")
        }
    }

    @Test func theEnginesSnapshotCountsAgreeWithAScan() throws {
        let directory = try StoreTemporaryDirectory()
        let clock = TestClock(Self.start)
        let store = try Store.open(path: directory.file("tally.sqlite3"), secrets: SecretBox(key: StoreFixtures.key))
        let entries = (0..<300).map { index in
            ImportBundle.ConnectionEntry(
                id: "c\(index)", integrationID: "acme", scope: .user, subject: "s\(index)", grant: .refreshToken,
                accessToken: Secret("fake-access-token-\(index)"), refreshToken: Secret("fake-refresh-token-\(index)"),
                expiresIn: Double(400 + index * 7))
        }
        _ = try store.importBundle(
            ImportBundle(source: "tally", integrations: [StoreFixtures.integration()], connections: entries),
            at: Self.start)
        let engine = try Engine(store: store, transport: FailingTransport(), timeSource: clock)
        for _ in 0..<30 {
            clock.advance(61)
            let snapshot = engine.snapshot()
            let now = clock.now()
            #expect(snapshot.tally != nil)
            var scanned = snapshot
            scanned.tally = nil
            #expect(snapshot.counts(at: now) == scanned.counts(at: now))
        }
    }

    /// Parents, and children that derive from them (token exchange, on-behalf-of), one naming a missing parent.
    static func family(_ parents: Int) -> [Connection] {
        var connections = fleet(parents)
        for index in 0..<(parents * 2) {
            let parent = index % (parents + 1)
            let issued = start.addingTimeInterval(-Double(index % 41) * 30)
            connections.append(
                Connection(
                    id: "child\(index)", integrationID: "acme", scope: .delegated, subject: "s\(index)",
                    credential: .oauth2, grant: index % 2 == 0 ? .tokenExchange : .onBehalfOf, issuedAt: issued,
                    expiresAt: issued.addingTimeInterval(Double(900 + index % 7 * 400)), createdAt: issued,
                    parentID: parent == parents ? "gone" : "c\(parent)"))
        }
        return connections
    }

    /// The counts a snapshot of `list` gives by looking at every connection, parents included.
    static func snapshotScan(_ list: ConnectionList, inFlight: Set<String>, at now: Date) -> [ConnectionStatus: Int] {
        var snapshot = DashboardSnapshot(databasePath: "t", connections: Array(list), inFlight: inFlight)
        snapshot.tally = nil
        return snapshot.counts(at: now)
    }

    @Test func derivedConnectionsCountWithTheirParentsStatus() {
        var list = ConnectionList(Self.family(300))
        var inFlight: Set<String> = []
        var tally = StatusTally(list, inFlight: inFlight, policy: Self.policy, at: Self.start)
        #expect(Self.nonZero(tally.counts) == Self.snapshotScan(list, inFlight: inFlight, at: Self.start))
        // The scan that ignores parents counts differently, or this test would prove nothing.
        #expect(Self.scan(list, inFlight: [], at: Self.start) != Self.snapshotScan(list, inFlight: [], at: Self.start))
        var now = Self.start
        for step in 0..<200 {
            // Writes to parents only: their children's statuses must follow.
            let position = (step * 13) % 300
            switch step % 4 {
            case 0: list[position].failures += 1
            case 1: list[position].reauthReason = list[position].reauthReason == nil ? "invalid_grant" : nil
            case 2: inFlight.formSymmetricDifference([list[position].id])
            default: list[position].revokedAt = list[position].revokedAt == nil ? now : nil
            }
            tally.update(position, list, inFlight: inFlight)
            now = now.addingTimeInterval(23)
            tally.advance(to: now, list, inFlight: inFlight)
            #expect(
                Self.nonZero(tally.counts) == Self.snapshotScan(list, inFlight: inFlight, at: now), "at step \(step)")
        }
    }

    /// A fleet large enough to be counted on two cores counts as a scan does, derived connections included, and
    /// keeps following the clock from there: each position's status and next change came back in place.
    @Test func aLargeFleetCountedOnTwoCoresAgreesWithAScan() {
        let parents = StatusTally.twoCoresFrom / 3 + 1
        let list = ConnectionList(Self.family(parents))
        #expect(list.count >= StatusTally.twoCoresFrom)
        var inFlight: Set<String> = ["c5", "child8"]
        var tally = StatusTally(list, inFlight: inFlight, policy: Self.policy, at: Self.start)
        #expect(Self.nonZero(tally.counts) == Self.snapshotScan(list, inFlight: inFlight, at: Self.start))
        inFlight = []
        for position in [5, parents + 8] { tally.update(position, list, inFlight: inFlight) }
        for step in 1...12 {
            let now = Self.start.addingTimeInterval(Double(step) * 311)
            tally.advance(to: now, list, inFlight: inFlight)
            #expect(
                Self.nonZero(tally.counts) == Self.snapshotScan(list, inFlight: inFlight, at: now), "at step \(step)")
        }
    }

    /// Connections another process wrote, taken in one step: new ones in their places in list order, changed ones
    /// replaced, one moved to another parent; every one found by id, and the counts those a scan gives.
    @Test func manyWrittenConnectionsGoInAtOnce() {
        let state = EngineState(
            databasePath: "t", connections: ConnectionList(ListOrderTests.reference(Self.family(300))),
            integrations: [], events: [], policy: Self.policy, now: Self.start)
        state.buildIndex()
        var written = Self.fleet(450).suffix(150).map { connection in
            var connection = connection
            connection.id = "c\(connection.id.dropFirst())x"
            return connection
        }
        var changed = state.connection("c7")!
        changed.failures = 3
        var moved = state.connection("child4")!
        moved.parentID = "c9"
        var rescoped = state.connection("c12")!
        rescoped.scope = rescoped.scope == .bot ? .user : .bot
        written += [changed, moved, written[0], rescoped]
        state.upsert(written)
        let snapshot = state.snapshot(at: Self.start)
        #expect(snapshot.connections.count == 900 + 150)
        let ids = Array(snapshot.connections).map(\.id)
        #expect(ids == ListOrderTests.reference(Array(snapshot.connections)).map(\.id), "not in list order")
        for connection in written { #expect(state.connection(connection.id) == connection) }
        let scanned = Self.snapshotScan(snapshot.connections, inFlight: [], at: Self.start)
        #expect(snapshot.counts(at: Self.start) == scanned)
        state.remove(["c7", "c300x", "child4"])
        let after = state.snapshot(at: Self.start)
        #expect(after.connections.count == 1_047)
        #expect(state.connection("c7") == nil && state.connection("c8") != nil)
        #expect(after.counts(at: Self.start) == Self.snapshotScan(after.connections, inFlight: [], at: Self.start))
    }

    @Test func aNewPolicyCountsAfresh() {
        let list = ConnectionList(Self.family(200))
        let state = EngineState(
            databasePath: "t", connections: list, integrations: [], events: [], policy: Self.policy, now: Self.start)
        var wide = Self.policy
        wide.minimumLead = 3_000
        wide.leadFraction = 0.9
        wide.maximumLeadFraction = 0.95
        _ = state.snapshot(at: Self.start)
        state.setPolicy(wide)
        let now = Self.start.addingTimeInterval(5)
        let snapshot = state.snapshot(at: now)
        var scanned = snapshot
        scanned.tally = nil
        #expect(snapshot.tally != nil)
        #expect(snapshot.counts(at: now) == scanned.counts(at: now))
        #expect(snapshot.counts(at: now)[.expiring, default: 0] > Self.snapshotScan(list, inFlight: [], at: now)[
            .expiring, default: 0])
    }
}

/// A transport for engines whose actor is never started.
private struct FailingTransport: HTTPTransport {
    func send(_ request: HTTPRequest) async throws -> HTTPResponse { throw URLError(.notConnectedToInternet) }
}
