/// What the device flow's polls of the token endpoint met, so that a flow that runs out of time can say whether the
/// provider was failing meanwhile (RFC 8628 §3.5: a client backs off on such errors, it does not give up on them).
///
/// Only counts and HTTP statuses are kept for the words: nothing here may quote the device code or an answer's body.
struct DevicePollTally: Sendable, Equatable {
    /// Polls sent.
    private(set) var polls = 0
    /// Polls answered with a server error (HTTP 5xx).
    private(set) var serverErrors = 0
    /// The status of the last server error.
    private var lastServerStatus: Int?
    /// The failed polls in a row up to the last one.
    private var run = Run()

    /// Polls in a row that got a server error or no answer at all: either way, nobody can tell whether the user
    /// approved meanwhile.
    private struct Run: Sendable, Equatable {
        var length = 0
        var serverErrors = 0
        var statuses: Set<Int> = []
        /// The last poll's status; nil when it got no answer.
        var lastStatus: Int?
        var lastFailure: ProviderError?
    }

    /// Counts one poll: nil for a token, the error for anything else (authorization_pending included).
    mutating func record(_ error: ProviderError?) {
        polls += 1
        // A server error, or a transient failure without any status (a network error, a time-out).
        guard let error, (error.status ?? 0) >= 500 || (error.status == nil && error.kind == .transient) else {
            run = Run()
            return
        }
        run.length += 1
        run.lastStatus = error.status
        run.lastFailure = error
        if let status = error.status {
            serverErrors += 1
            lastServerStatus = status
            run.serverErrors += 1
            run.statuses.insert(status)
        }
    }

    /// Whether the last poll got a server error or no answer, so that an approval may have gone unseen.
    var failingAtTheEnd: Bool { run.length > 0 }

    /// The last poll's failure while ``failingAtTheEnd``, for the failure's record.
    var lastFailure: ProviderError? { run.lastFailure }

    /// What went wrong, as words for a message ("the provider answered 503 to the last 5 polls"); nil when every
    /// poll was answered without a server error.
    var trouble: String? {
        guard run.length > 0 else {
            guard let status = lastServerStatus else { return nil }
            return "\(serverErrors) of the \(polls) polls got a server error, the last one \(status), before the "
                + "provider answered again"
        }
        let which: String
        if run.length == polls {
            which = polls == 1 ? "the only poll" : "all \(polls) polls"
        } else {
            which = run.length == 1 ? "the last poll" : "the last \(run.length) polls"
        }
        var text: String
        switch (run.serverErrors, run.lastStatus) {
        case (0, _):
            text = "the provider's token endpoint did not answer \(which)"
        case (run.length, let status?) where run.statuses.count == 1:
            text = "the provider answered \(status) to \(which)"
        case (run.length, let status?):
            text = "the provider answered a server error to \(which), the last one \(status)"
        case (let failed, let status):
            text =
                "the provider's token endpoint failed \(which) (\(failed) with a server error, "
                + "\(run.length - failed) with no answer), the last with \(status.map { "\($0)" } ?? "no answer")"
        }
        if serverErrors > run.serverErrors {
            text += " (a server error to \(serverErrors) of the \(polls) polls in all)"
        }
        return text
    }
}
