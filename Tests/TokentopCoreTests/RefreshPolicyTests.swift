import Foundation
import Testing

@testable import TokentopCore

struct RefreshPolicyTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func connection(lifetime: Double, refresh: Bool = true, credential: CredentialKind = .oauth2) -> Connection {
        Connection(
            id: "acme-alice", integrationID: "acme", scope: .user, subject: "alice@example.com",
            credential: credential, grant: refresh ? .refreshToken : .none, refreshFingerprint: refresh ? "rt" : nil,
            issuedAt: start, expiresAt: start.addingTimeInterval(lifetime), lastRefreshAt: start, createdAt: start)
    }

    @Test(arguments: [(60.0, 300.0), (3600.0, 360.0), (86_400.0, 8_640.0)])
    func leadIsTheLargerOfFiveMinutesAndTenPercent(lifetime: Double, lead: Double) {
        #expect(RefreshPolicy.standard.lead(lifetime: lifetime) == lead)
    }

    @Test func dueTimeFallsInsideTheJitteredLeadWindow() throws {
        let policy = RefreshPolicy.standard
        let c = connection(lifetime: 3600)
        let due = try #require(policy.dueAt(c))
        let before = c.expiresAt!.timeIntervalSince(due)
        #expect(before >= 360 && before <= 360 * 1.2)
        #expect(policy.dueAt(c) == due, "the jitter is fixed per connection")
    }

    @Test func jitterSpreadsConnectionsIssuedTogether() {
        let dues = Set(
            (0..<100).map { index -> Date in
                var c = connection(lifetime: 3600)
                c.id = "conn-\(index)"
                return RefreshPolicy.standard.dueAt(c)!
            })
        #expect(dues.count > 90)
    }

    @Test func statusFollowsTheClock() {
        let policy = RefreshPolicy.standard
        let c = connection(lifetime: 3600)
        #expect(c.status(at: start, policy: policy) == .healthy)
        #expect(c.status(at: start.addingTimeInterval(3600 - 200), policy: policy) == .expiring)
        #expect(c.status(at: start.addingTimeInterval(3600 - 200), inFlight: true, policy: policy) == .refreshing)
        // Past expiry, a refresh token can still renew it: due for the refresh actor, not expired.
        #expect(c.status(at: start.addingTimeInterval(4000), policy: policy) == .expiring)
        #expect(
            connection(lifetime: 3600, refresh: false).status(at: start.addingTimeInterval(4000), policy: policy)
                == .expired)
        #expect(connection(lifetime: 3600, credential: .apiKey).status(at: start, policy: policy) == .static)
    }

    /// DESIGN.md: `expired` is past expiry with nothing to renew it. A renewable token past its expiry stays
    /// `expiring` (a refresh is due) and is overdue from the instant its `expires_at` passes.
    @Test func aRenewableTokenPastItsExpiryIsExpiringAndOverdueNeverExpired() {
        let policy = RefreshPolicy.standard
        let c = connection(lifetime: 3600)
        let expiry = start.addingTimeInterval(3600)
        for (offset, overdue) in [(-0.001, false), (0, true), (0.001, true), (86_400, true)] {
            let now = expiry.addingTimeInterval(offset)
            let status = c.status(at: now, policy: policy)
            #expect(status == .expiring, "\(offset)")
            #expect(c.isOverdue(at: now, status: status) == overdue, "\(offset)")
        }
        // The countdown turns at the same instant as the overdue mark.
        #expect(Countdown.format(until: expiry, now: expiry.addingTimeInterval(-0.001)) == "1s")
        #expect(Countdown.format(until: expiry, now: expiry) == "expired")
        // A refresh in flight shows as one, and is not counted as overdue: something is renewing it.
        #expect(c.status(at: expiry, inFlight: true, policy: policy) == .refreshing)
        #expect(!c.isOverdue(at: expiry, status: .refreshing))
        // Nothing can renew a token without a refresh token: expired from its expiry on, and not overdue.
        let stranded = connection(lifetime: 3600, refresh: false)
        #expect(stranded.status(at: expiry.addingTimeInterval(-0.001), policy: policy) == .healthy)
        #expect(stranded.status(at: expiry, policy: policy) == .expired)
        #expect(!stranded.isOverdue(at: expiry, status: .expired))
    }

    @Test func aFailingRefreshIsFailingBeforeAndPastExpiryWhenRenewable() {
        let policy = RefreshPolicy.standard
        var c = connection(lifetime: 3600)
        c.failures = 3
        c.lastError = ProviderError(kind: .transient, error: "server_error", status: 503)
        #expect(c.status(at: start.addingTimeInterval(3599), policy: policy) == .failing)
        #expect(!c.isOverdue(at: start.addingTimeInterval(3599), status: .failing))
        #expect(c.status(at: start.addingTimeInterval(3600), policy: policy) == .failing)
        #expect(c.isOverdue(at: start.addingTimeInterval(3600), status: .failing))
        // Without a refresh token nothing retries: a token that still works is failing, one past expiry expired.
        var stranded = connection(lifetime: 3600, refresh: false)
        stranded.failures = 1
        #expect(stranded.status(at: start.addingTimeInterval(60), policy: policy) == .failing)
        #expect(stranded.status(at: start.addingTimeInterval(3600), policy: policy) == .expired)
    }

    @Test func storedFactsOutrankTheClock() {
        let policy = RefreshPolicy.standard
        var c = connection(lifetime: 3600)
        c.failures = 2
        #expect(c.status(at: start, policy: policy) == .failing)
        c.reauthReason = "invalid_grant"
        #expect(c.status(at: start, policy: policy) == .needsReauth)
        #expect(policy.dueAt(c) == nil)
        c.revokedAt = start
        #expect(c.status(at: start, inFlight: true, policy: policy) == .revoked)
    }

    @Test func backoffDoublesUpToTheCapAndHonoursRetryAfter() {
        let policy = RefreshPolicy(backoffBase: 5, backoffCap: 900)
        #expect(policy.backoff(failures: 1, retryAfter: nil, random: 1) == 5)
        #expect(policy.backoff(failures: 3, retryAfter: nil, random: 1) == 20)
        #expect(policy.backoff(failures: 30, retryAfter: nil, random: 1) == 900)
        #expect(policy.backoff(failures: 1, retryAfter: nil, random: 0) == 3.75)
        #expect(policy.backoff(failures: 1, retryAfter: 120, random: 1) == 120)
    }

    @Test(arguments: [300.0, 120.0, 30.0, 12.0, 5.0, 0.0])
    func shortLivedTokensAreNotDueTheMomentTheyAreIssued(lifetime: Double) throws {
        let c = connection(lifetime: lifetime)
        let due = try #require(RefreshPolicy.standard.dueAt(c))
        let sinceIssue = due.timeIntervalSince(start)
        #expect(sinceIssue >= min(lifetime, RefreshPolicy.standard.minimumInterval))
        #expect(sinceIssue >= lifetime * (1 - 0.5 * 1.2) - 0.001, "at most 60 % of the lifetime ahead")
        if lifetime >= RefreshPolicy.standard.minimumInterval { #expect(due <= c.expiresAt!) }
    }

    /// The README's promise: never sooner than 10 s after the token was issued, whatever the answer said; a token
    /// that lives less keeps its real expiry and is simply expired until then.
    @Test(arguments: [
        (0.001, 10.0), (0.5, 10.0), (1.0, 10.0), (5.0, 10.0), (9.0, 10.0), (10.0, 10.0), (3600.0, nil),
    ])
    func aRefreshIsNeverDueSoonerThanTenSecondsAfterIssue(lifetime: Double, expected: Double?) throws {
        for policy in [RefreshPolicy.standard, RefreshPolicy.demo] {
            #expect(policy.minimumInterval == 10)
            let c = connection(lifetime: lifetime)
            let sinceIssue = try #require(policy.dueAt(c)).timeIntervalSince(start)
            if let expected {
                #expect(sinceIssue == expected, "lifetime \(lifetime)")
            } else {
                // A long-lived token: the lead window and its jitter decide, well after the floor.
                let lead = policy.lead(lifetime: lifetime)
                #expect(sinceIssue >= lifetime - lead * (1 + policy.jitterFraction) - 0.001)
                #expect(sinceIssue <= lifetime - lead + 0.001)
            }
            #expect(c.expiresAt == start.addingTimeInterval(lifetime), "the lifetime is kept as the provider said")
            // Imported, not renewed here: an expired token is due at once.
            var imported = c
            imported.lastRefreshAt = nil
            if lifetime < policy.minimumInterval {
                #expect(try #require(policy.dueAt(imported)) == c.expiresAt!, "lifetime \(lifetime)")
            }
        }
    }

    @Test func anImportedTokenAlreadyExpiredIsDueAtOnce() throws {
        // Never renewed here (an import gives an issue time, not a refresh): no floor holds it back.
        var c = connection(lifetime: -60)
        c.lastRefreshAt = nil
        #expect(try #require(RefreshPolicy.standard.dueAt(c)) == start.addingTimeInterval(-60))
    }

    @Test func theShortLifetimeNoteSaysWhatTheAnswerGave() {
        let note = RefreshPolicy.standard.shortLifetimeNote(0.5)
        #expect(note.hasPrefix("the answer gave the token 0.5 s to live, shorter than the 10 s"))
    }
}

struct DueQueueTests {
    @Test func popsInDueOrderAndDropsReschedules() {
        var queue = DueQueue()
        let t = Date(timeIntervalSince1970: 1000)
        queue.schedule("b", at: t.addingTimeInterval(20))
        queue.schedule("a", at: t.addingTimeInterval(10))
        queue.schedule("c", at: t.addingTimeInterval(30))
        queue.schedule("a", at: t.addingTimeInterval(40))
        queue.schedule("c", at: nil)
        #expect(queue.count == 2)
        #expect(queue.nextDue() == t.addingTimeInterval(20))
        #expect(queue.popDue(at: t.addingTimeInterval(15)) == nil)
        #expect(queue.popDue(at: t.addingTimeInterval(100)) == "b")
        #expect(queue.popDue(at: t.addingTimeInterval(100)) == "a")
        #expect(queue.popDue(at: t.addingTimeInterval(100)) == nil)
    }

    @Test func manyEntriesComeOutSorted() {
        var queue = DueQueue()
        let t = Date(timeIntervalSince1970: 0)
        let offsets = (0..<1000).map { _ in Double.random(in: 0..<10_000) }
        for (index, offset) in offsets.enumerated() { queue.schedule("c\(index)", at: t.addingTimeInterval(offset)) }
        var last = -1.0
        var popped = 0
        while let id = queue.popDue(at: t.addingTimeInterval(20_000)) {
            let offset = offsets[Int(id.dropFirst())!]
            #expect(offset >= last)
            last = offset
            popped += 1
        }
        #expect(popped == 1000)
    }
}

@Suite struct AssumedLifetimeTests {
    @Test func theCatalogsDocumentedDefaultWinsOverTheGenericOne() {
        let policy = RefreshPolicy.standard
        #expect(policy.assumedLifetime(provider: "hubspot") == (1800, "hubspot's documented default"))
        #expect(policy.assumedLifetime(provider: "gitlab").seconds == 7200)
        // Not in the catalog, or the catalog does not know: the policy's own figure, said to be a guess.
        #expect(
            policy.assumedLifetime(provider: "acme-crm")
                == (policy.unknownExpiryLifetime, "tokentop's default for providers that do not say"))
        #expect(policy.assumedLifetime(provider: "google").seconds == policy.unknownExpiryLifetime)
    }

    @Test func aLostAnswerIsRetriedInsideTheProvidersGraceWindow() {
        let policy = RefreshPolicy.standard
        // Okta documents a 30 s default grace period: a retry 10 s later still replays the same token safely.
        #expect(policy.lostAnswerRetry(provider: "okta", backoff: 45) == 10)
        #expect(policy.lostAnswerRetry(provider: "okta", backoff: 4) == 4)
        // No documented window: the ordinary backoff.
        #expect(policy.lostAnswerRetry(provider: "google", backoff: 45) == 45)
        #expect(policy.lostAnswerRetry(provider: "acme-crm", backoff: 45) == 45)
    }
}
