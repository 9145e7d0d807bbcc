import CCurl
import Foundation
import Testing

@testable import TokentopCore

@Suite struct ProviderErrorTests {
    @Test func aProvidersLongTextIsKeptShort() {
        let error = ProviderError(
            kind: .invalidGrant, error: String(repeating: "x", count: 100_000),
            errorDescription: String(repeating: "y", count: 100_000), bodyPrefix: String(repeating: "z", count: 5_000))
        #expect(error.error.count == ProviderError.errorLimit && error.error.hasSuffix("…"))
        #expect(error.errorDescription?.count == ProviderError.descriptionLimit)
        #expect(error.bodyPrefix?.count == ProviderError.descriptionLimit)
        #expect(error.summary.count < 1_300)
    }

    @Test func aSecretTheLimitCutInTwoIsStillRedacted() {
        let secret = Secret("fake-refresh-token-0001")
        // The description ends 9 characters into the echoed secret once cut.
        let padding = String(repeating: "a", count: ProviderError.descriptionLimit - 10)
        let error = ProviderError(
            kind: .invalidGrant, error: "invalid_grant", errorDescription: padding + secret.value + " was refused")
        #expect(error.errorDescription?.hasSuffix("fake-refr…") == true)
        let redacted = error.redacting([secret])
        #expect(redacted.errorDescription?.hasSuffix("[redacted]…") == true)
        #expect(redacted.errorDescription?.contains("fake-ref") == false)
    }

    @Test func anOversizedAnswerAndANonHTTPAnswerSayWhatHappened() {
        let large = OAuthClient.networkError(URLError(.dataLengthExceedsMaximum))
        #expect(large.kind == .malformed)
        #expect(large.error == "answer_too_large")
        let junk = OAuthClient.networkError(
            URLError(.unsupportedURL, userInfo: [NSLocalizedDescriptionKey: "libcurl: Unsupported protocol"]))
        #expect(
            junk.errorDescription
                == "the answer was not HTTP, or the URL is not http(s) (libcurl: Unsupported protocol)")
    }

    /// Failures that come before a request is sent: the provider cannot have acted on it.
    @Test(arguments: [
        (URLError.Code.cannotConnectToHost, "could not connect to 127.0.0.1:18099"),
        (.cannotFindHost, "could not resolve 127.0.0.1"), (.dnsLookupFailed, "could not resolve 127.0.0.1"),
        (.secureConnectionFailed, "the TLS handshake with the provider failed"),
        (.serverCertificateUntrusted, "the provider's TLS certificate is not trusted"),
    ])
    func aRequestNeverSentSaysSo(code: URLError.Code, words: String) {
        let error = OAuthClient.networkError(URLError(code), url: URL(string: "http://127.0.0.1:18099/bad")!)
        #expect(error.error == "network_error")
        #expect(error.kind == .transient)
        #expect(error.requestSent == false)
        #expect(!error.answerMayBeLost && !error.followsLostAnswer)
        #expect(error.errorDescription == words + "; the request was not sent")
    }

    /// Failures after the request may have gone out: its answer, which may have rotated a token, is lost.
    @Test(arguments: [URLError.Code.timedOut, .networkConnectionLost, .badServerResponse, .unknown])
    func aRequestThatMayHaveGoneOutMayHaveLostItsAnswer(code: URLError.Code) {
        let error = OAuthClient.networkError(URLError(code), url: URL(string: "http://127.0.0.1:18099/bad")!)
        #expect(error.requestSent == nil)
        #expect(error.answerMayBeLost && error.followsLostAnswer)
        #expect(error.errorDescription?.contains("not sent") == false)
    }

    /// libcurl knows whether the request went out, whatever the code: a timeout before it is no lost answer, and
    /// its own words name the host it tried (a proxy's, say) rather than the token URL's.
    @Test func libcurlSaysWhetherTheRequestWentOut() {
        let url = URL(string: "https://idp.example/token")!
        let connecting = OAuthClient.networkError(
            CurlMulti.error(CURLE_OPERATION_TIMEDOUT, sent: false, detail: "Connection timed out after 5001 ms"),
            url: url)
        #expect(connecting.requestSent == false)
        #expect(
            connecting.errorDescription
                == "no connection before the timeout (libcurl: Connection timed out after 5001 ms); the request was "
                + "not sent")
        let answering = OAuthClient.networkError(CurlMulti.error(CURLE_OPERATION_TIMEDOUT, sent: true), url: url)
        #expect(answering.requestSent == nil)
        #expect(answering.errorDescription == "no answer before the timeout")
        let proxy = OAuthClient.networkError(
            CurlMulti.error(
                CURLE_COULDNT_CONNECT, sent: false,
                detail: "Failed to connect to proxy.example port 3128 after 2 ms: Connection refused"),
            url: url)
        #expect(
            proxy.errorDescription
                == "could not connect to a host (libcurl: Failed to connect to proxy.example port 3128 after 2 ms: "
                + "Connection refused); the request was not sent")
        let direct = OAuthClient.networkError(
            CurlMulti.error(
                CURLE_COULDNT_CONNECT, sent: false,
                detail: "Failed to connect to idp.example port 443 after 2 ms: Connection refused"),
            url: url)
        #expect(direct.errorDescription?.hasPrefix("could not connect to idp.example (libcurl: Failed") == true)
        // A reset after the request went out, and libcurl's refused resend: the answer may be lost.
        #expect(OAuthClient.networkError(CurlMulti.error(CURLE_RECV_ERROR, sent: true)).answerMayBeLost)
        #expect(OAuthClient.networkError(CurlMulti.error(CURLE_ABORTED_BY_CALLBACK, resent: true)).answerMayBeLost)
    }

    /// A network error stored before tokentop told unsent requests apart has no such member: it still counts as an
    /// answer that may be lost, and reads back unchanged.
    @Test func aStoredNetworkErrorFromBeforeStillCountsAsALostAnswer() throws {
        let stored =
            #"{"kind":"transient","error":"network_error","errorDescription":"could not connect to the provider"}"#
        let error = try JSONDecoder().decode(ProviderError.self, from: Data(stored.utf8))
        #expect(error.requestSent == nil && error.earlierAnswerLost == nil)
        #expect(error.answerMayBeLost && error.followsLostAnswer)
        #expect(try JSONEncoder().encode(error).count == stored.utf8.count, "no new member is written for it")
        // Only a network error can have lost an answer.
        #expect(!ProviderError(kind: .transient, error: "server_error", status: 503).answerMayBeLost)
    }
}

@Suite struct ListTableTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let integration = Integration(
        id: "acme", provider: "acme", tokenURL: URL(string: "https://a.test/t")!, clientID: "c", clientAuth: .none)

    /// A secret's age is a static credential's fact; an expiring token shows its expiry instead.
    @Test func onlyStaticCredentialsShowWhenTheirSecretWasSet() throws {
        let set = now.addingTimeInterval(-86_400)
        let token = Connection(
            id: "acme-token", integrationID: "acme", scope: .user, subject: "alice@example.com", credential: .oauth2,
            grant: .refreshToken, expiresAt: now.addingTimeInterval(3_600), createdAt: set, secretSetAt: set)
        var key = token
        key.id = "acme-key"
        key.credential = .apiKey
        key.grant = .none
        key.expiresAt = nil
        let snapshot = DashboardSnapshot(
            databasePath: "t", connections: [token, key], integrations: ["acme": integration])
        let json = ConnectionReport.json(snapshot, connections: [token, key], at: now)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects[0]["secret_set_at"] is NSNull)
        #expect(objects[1]["secret_set_at"] as? String == "2027-01-14T08:00:00Z")
        #expect(!ConnectionReport.detailText(token, snapshot: snapshot, history: [], at: now).contains("secret set"))
        #expect(ConnectionReport.detailText(key, snapshot: snapshot, history: [], at: now).contains("secret set"))
    }

    /// Columns line up in terminal cells: wide CJK characters, an emoji family joined into one, combining marks.
    @Test func columnsAlignByTerminalCells() {
        let subjects = ["alice@example.com", "山田太郎@例え.jp", "👩‍👩‍👧‍👦 family", "cafe\u{301} team"]
        let connections = subjects.enumerated().map { index, subject in
            Connection(
                id: "acme-\(index)", integrationID: "acme", scope: .user, subject: subject, credential: .oauth2,
                grant: .refreshToken, expiresAt: now.addingTimeInterval(3_600), createdAt: now)
        }
        let snapshot = DashboardSnapshot(databasePath: "t", connections: connections, integrations: ["acme": integration])
        let lines = ConnectionReport.table(snapshot, connections: connections, at: now).split(separator: "\n")
        // Where the EXPIRES column starts, in cells, is the same on every line.
        let starts = lines.map { line -> Int in
            let text = String(line)
            let range = text.range(of: line == lines[0] ? "EXPIRES" : "1h00m")!
            return text[..<range.lowerBound].displayWidth
        }
        #expect(Set(starts).count == 1, "\(lines.joined(separator: "\n"))")
    }

    @Test func aRevokedConnectionShowsNoExpiry() {
        let revoked = Connection(
            id: "acme-alice", integrationID: "acme", scope: .user, subject: "alice@example.com", credential: .oauth2,
            grant: .refreshToken, expiresAt: now.addingTimeInterval(97_200), revokedAt: now, createdAt: now)
        let snapshot = DashboardSnapshot(databasePath: "t", connections: [revoked], integrations: ["acme": integration])
        let table = ConnectionReport.table(snapshot, connections: [revoked], at: now)
        let row = table.split(separator: "\n")[1]
        #expect(row.contains("revoked") && row.contains("—"), "\(row)")
        #expect(!row.contains("1d03h"))
    }

    /// `show` of a revoked connection says its tokens are gone, naming which ones they were.
    @Test func aRevokedConnectionsTokensReadAsWiped() {
        var connection = Connection(
            id: "acme-alice", integrationID: "acme", scope: .user, subject: "alice@example.com", credential: .oauth2,
            grant: .refreshToken, accessFingerprint: "fake…0001", refreshFingerprint: "fake…0002", createdAt: now)
        let snapshot = DashboardSnapshot(databasePath: "t", connections: [connection])
        let live = ConnectionReport.detailText(connection, snapshot: snapshot, history: [], at: now)
        #expect(live.contains("access token    fake…0001\n") && live.contains("refresh token   fake…0002\n"), "\(live)")
        connection.revokedAt = now
        let text = ConnectionReport.detailText(connection, snapshot: snapshot, history: [], at: now)
        #expect(text.contains("access token    none (wiped when revoked; it was fake…0001)"), "\(text)")
        #expect(text.contains("refresh token   none (wiped when revoked; it was fake…0002)"), "\(text)")
    }

    /// An expiry the provider never gave reads `~59m` in `list`, `expiry_assumed` in JSON, and says so in `show`.
    @Test func anAssumedExpiryIsShownAsSuch() throws {
        let refreshed = now.addingTimeInterval(-60)
        let assumed = Connection(
            id: "acme-alice", integrationID: "acme", scope: .user, subject: "alice@example.com", credential: .oauth2,
            grant: .refreshToken, refreshFingerprint: "fake", issuedAt: refreshed,
            expiresAt: refreshed.addingTimeInterval(3600), lastRefreshAt: refreshed, createdAt: refreshed,
            expiryAssumed: true)
        var dated = assumed
        dated.id = "acme-bob"
        dated.expiryAssumed = false
        let snapshot = DashboardSnapshot(
            databasePath: "t", connections: [assumed, dated], integrations: ["acme": integration])
        let rows = ConnectionReport.table(snapshot, connections: [assumed, dated], at: now).split(separator: "\n")
        #expect(rows[1].hasPrefix("acme-alice") && rows[1].contains("  ~59m00s  "), "\(rows[1])")
        #expect(
            rows[2].hasPrefix("acme-bob") && rows[2].contains("  59m00s   0") && !rows[2].contains("~"), "\(rows[2])")
        let json = ConnectionReport.json(snapshot, connections: [assumed, dated], at: now)
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects.map { $0["expiry_assumed"] as? Bool } == [true, false])
        let text = ConnectionReport.detailText(assumed, snapshot: snapshot, history: [], at: now)
        #expect(
            text.contains(
                "(in 59m00s); expiry unknown (the provider's answer gave none); assumed 1h00m from tokentop's "
                    + "default for providers that do not say"), "\(text)")
        #expect(Countdown.format(until: now.addingTimeInterval(-1), now: now, assumed: true) == "expired")
    }
}
