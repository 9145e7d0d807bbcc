import Testing

@testable import TokentopCore

/// The words a device flow that ran out of time uses for the failures its polls met.
@Suite struct DevicePollTallyTests {
    /// Each poll's status: 0 for a poll that got no answer (a network error), nil for authorization_pending.
    func tally(_ statuses: [Int?]) -> DevicePollTally {
        var tally = DevicePollTally()
        for status in statuses {
            switch status {
            case nil: tally.record(ProviderError(kind: .configuration, error: "authorization_pending", status: 400))
            case 0?: tally.record(ProviderError(kind: .transient, error: "network_error"))
            case let status?:
                tally.record(
                    ProviderError(
                        kind: status >= 500 || status == 429 ? .transient : .configuration, error: "server_error",
                        status: status))
            }
        }
        return tally
    }

    /// (each poll's status as ``tally(_:)`` takes it, the words)
    static let cases: [([Int?], String?)] = [
        ([], nil),
        ([nil, nil, 400], nil),
        ([503], "the provider answered 503 to the only poll"),
        ([503, 503, 503], "the provider answered 503 to all 3 polls"),
        ([nil, 503, 503, 503, 503, 503], "the provider answered 503 to the last 5 polls"),
        ([nil, 502, 503], "the provider answered a server error to the last 2 polls, the last one 503"),
        ([503, nil, 500], "the provider answered 500 to the last poll (a server error to 2 of the 3 polls in all)"),
        (
            [502, nil, 503, 503],
            "the provider answered 503 to the last 2 polls (a server error to 3 of the 4 polls in all)"
        ),
        ([503, 502, nil], "2 of the 3 polls got a server error, the last one 502, before the provider answered again"),
        // 429 asks to slow down: an answer, not a server error.
        ([503, 429], "1 of the 2 polls got a server error, the last one 503, before the provider answered again"),
        ([nil, 0, 0], "the provider's token endpoint did not answer the last 2 polls"),
        (
            [503, 503, 0],
            "the provider's token endpoint failed all 3 polls (2 with a server error, 1 with no answer), the last "
                + "with no answer"
        ),
        (
            [nil, 0, 504],
            "the provider's token endpoint failed the last 2 polls (1 with a server error, 1 with no answer), the "
                + "last with 504"
        ),
    ]

    @Test(arguments: cases)
    func failuresInWords(statuses: [Int?], words: String?) {
        let tally = tally(statuses)
        #expect(tally.trouble == words)
        let failedLast = statuses.last.map { $0 == 0 || ($0 ?? 0) >= 500 } ?? false
        #expect(tally.failingAtTheEnd == failedLast)
        // The failure recorded with the outcome is the last poll's, when it failed.
        if failedLast, let last = statuses.last ?? nil {
            #expect(tally.lastFailure?.error == (last == 0 ? "network_error" : "server_error"))
            #expect(tally.lastFailure?.status == (last == 0 ? nil : last))
        } else {
            #expect(tally.lastFailure == nil)
        }
    }
}
