import Foundation
import Testing

@testable import TokentopCore

/// Group commit: several refreshes' claims and results in one transaction, each refused on its own merits alone.
struct StoreBatchTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func store(in directory: StoreTemporaryDirectory) throws -> Store {
        let store = try Store.open(path: try directory.location("t"), secrets: .ephemeral())
        let connections = (1...3).map { index in
            """
            {"id": "acme-\(index)", "integration": "acme", "scope": "user", "subject": "u\(index)@example.com",
             "access_token": "fake-at-000\(index)", "refresh_token": "fake-rt-000\(index)", "expires_in": 3600}
            """
        }
        let file = """
            {"integrations": [{"id": "acme", "provider": "acme", "token_url": "https://acme.example/token",
              "client_id": "c", "client_secret": "fake-secret"}],
             "connections": [\(connections.joined(separator: ","))]}
            """
        _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
        return store
    }

    func request(_ id: String, _ owner: String) -> LeaseRequest {
        LeaseRequest(connectionID: id, owner: owner, until: now.addingTimeInterval(90), now: now)
    }

    @Test(arguments: StoreEngine.available)
    func claimsReadTheRefreshTokenAndAnotherOwnersLeaseStands(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory)
        let owner = LeaseOwner.make()
        let other = LeaseOwner.make()
        #expect(try store.claimLease(connectionID: "acme-2", owner: other, until: now.addingTimeInterval(90), now: now)
            != nil)
        let outcome = try store.writeRefreshBatch(
            claims: [request("acme-1", owner), request("acme-2", owner), request("missing", owner)], records: [])
        let first = try #require(try outcome.claims[0].get())
        #expect(first.refreshToken?.value == "fake-rt-0001")
        #expect(first.connection.id == "acme-1" && first.lease.owner == owner && !first.lease.interrupted)
        #expect(try outcome.claims[1].get() == nil, "another live process holds acme-2")
        guard case .failure(let error) = outcome.claims[2] else { Issue.record("an unknown id was claimed"); return }
        #expect(error.code == .unknownConnection)
    }

    @Test(arguments: StoreEngine.available)
    func resultsLandTogetherAndAStaleLeaseFailsAlone(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory)
        let owner = LeaseOwner.make()
        let claims = try store.writeRefreshBatch(
            claims: [request("acme-1", owner), request("acme-2", owner), request("acme-3", owner)], records: []
        ).claims.map { try #require(try $0.get()) }
        // Another process rewrites acme-2 while its request is out: its generation moves on.
        try store.recordRefreshFailure(
            connectionID: "acme-2", error: ProviderError(kind: .transient, error: "server_error"), retryAt: nil,
            reauthReason: nil, at: now)
        let at = now.addingTimeInterval(5)
        let grant = TokenGrant(
            accessToken: Secret("fake-access-token-0042"), refreshToken: Secret("fake-refresh-token-0042"),
            expiresIn: 600, scopes: nil, tokenType: "Bearer")
        let failure = ProviderError(kind: .invalidGrant, error: "invalid_grant", status: 400)
        let records = [
            RefreshRecord(
                connection: claims[0].connection, lease: claims[0].lease,
                outcome: .success(grant, message: "refreshed"), at: at),
            RefreshRecord(
                connection: claims[1].connection, lease: claims[1].lease,
                outcome: .success(grant, message: "refreshed"), at: at),
            RefreshRecord(
                connection: claims[2].connection, lease: claims[2].lease,
                outcome: .failure(failure, retryAt: nil, reauthReason: "the provider refused the grant"), at: at),
        ]
        var written = BatchWrites()
        let before = try store.latestChange()
        let outcome = try store.writeRefreshBatch(claims: [], records: records) { written = $0 }

        let refreshed = try outcome.records[0].get()
        #expect(refreshed.expiresAt == at.addingTimeInterval(600) && refreshed.failures == 0)
        #expect(try store.connection(id: "acme-1") == refreshed)
        #expect(try store.tokenSecrets(connectionID: "acme-1").refresh?.value == "fake-refresh-token-0042")
        guard case .failure(let lost) = outcome.records[1] else { Issue.record("a stale lease wrote"); return }
        #expect(lost.code == .leaseLost)
        #expect(try store.tokenSecrets(connectionID: "acme-2").access?.value == "fake-at-0002")
        let refused = try outcome.records[2].get()
        #expect(refused.reauthReason == "the provider refused the grant" && refused.failures == 1)
        #expect(written.changes == (before + 1)...(before + 2))

        // Storing gave the leases back: another owner claims at once.
        let next = try store.writeRefreshBatch(claims: [request("acme-1", LeaseOwner.make())], records: [])
        #expect(try next.claims[0].get() != nil)
        // Following the change feed past this batch's own writes reads nothing of it.
        let feed = try store.changes(since: before, skipping: { [written.changes].compactMap { $0 } })
        #expect(feed.connections.isEmpty && feed.latest == before + 2)
        let history = try store.history(since: 0, skipping: { [written.history].compactMap { $0 } })
        #expect(!history.entries.contains { $0.at == at })
    }

    @Test(arguments: StoreEngine.available)
    func tokensSealedAheadAreStoredAndASealUnderAnotherKeyIsRedone(engine: StoreEngine) throws {
        let directory = try StoreTemporaryDirectory(engine)
        let store = try store(in: directory)
        let owner = LeaseOwner.make()
        let claims = try store.writeRefreshBatch(
            claims: [request("acme-1", owner), request("acme-2", owner)], records: []
        ).claims.map { try #require(try $0.get()) }
        let grant = TokenGrant(
            accessToken: Secret("fake-access-token-0077"), refreshToken: Secret("fake-refresh-token-0077"),
            expiresIn: 600, scopes: nil, tokenType: "Bearer")
        let ahead = try store.seal(grant, connectionID: "acme-1")
        // Sealed under a key this store does not hold (a rekey between the seal and the write): never stored as is.
        let other = SecretBox.ephemeral()
        let foreign = SealedGrant(
            box: other, access: try other.seal(grant.accessToken, context: Store.accessTokenContext("acme-2")),
            refresh: nil, accessFingerprint: "wrong", refreshFingerprint: nil)
        let records = zip(claims, [ahead, foreign]).map { claim, sealed in
            RefreshRecord(
                connection: claim.connection, lease: claim.lease, outcome: .success(grant, message: "refreshed"),
                at: now, sealed: sealed)
        }
        let outcome = try store.writeRefreshBatch(claims: [], records: records)
        for (index, id) in ["acme-1", "acme-2"].enumerated() {
            let stored = try outcome.records[index].get()
            #expect(stored.accessFingerprint == grant.accessToken.fingerprint)
            #expect(stored.refreshFingerprint == grant.refreshToken?.fingerprint)
            let tokens = try store.tokenSecrets(connectionID: id)
            #expect(tokens.access?.value == "fake-access-token-0077")
            #expect(tokens.refresh?.value == "fake-refresh-token-0077")
        }
        let sealedAccess = try store.database.query(
            "SELECT access_token FROM connections WHERE id = ?", ["acme-1"]) { $0.blob(0) }.first ?? nil
        #expect(sealedAccess == ahead.access, "the seal made ahead is the one stored")
    }

    @Test(arguments: [
        (0, 10, [ClosedRange<Int>](), [(0, 10)]),
        (0, 10, [3...5], [(0, 2), (5, 10)]),
        (0, 10, [1...4, 5...10], []),
        (4, 10, [1...6, 9...12], [(6, 8)]),
    ])
    func gapsLeaveOutOwnRanges(since: Int, latest: Int, own: [ClosedRange<Int>], expected: [(Int, Int)]) {
        let gaps = Store.gaps(after: since, upTo: latest, skipping: own)
        #expect(gaps.map(\.0) == expected.map(\.0) && gaps.map(\.1) == expected.map(\.1))
    }
}
