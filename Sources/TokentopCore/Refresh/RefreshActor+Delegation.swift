import Foundation

/// Derived connections: on-behalf-of and token exchange mint the child's token from its parent's access token.
///
/// The child's refresh reads the parent's token from the store at the moment it is needed, so it always sends the
/// parent's newest token; when the parent's token is expired or inside its own refresh window, the parent is
/// refreshed first (or the child waits for the refresh already in flight). A parent that cannot serve (it needs
/// re-auth, was revoked, expired, or is failing without a usable token) blocks its children: they send nothing,
/// and their status and reason derive from the parent's (``ParentBlock``) until it recovers and wakes them.
extension RefreshActor {
    /// The least time a parent's token must still have to be sent upstream, so that it does not expire on the way.
    static let upstreamMargin: TimeInterval = 30

    /// The parent's access token to exchange, or why there is none now.
    enum Upstream {
        case token(Secret)
        /// - Parameters:
        ///   - reason: the block's reason, as the child shows it.
        ///   - retryAt: when to look again; nil waits until the parent changes.
        case blocked(reason: String, retryAt: Date?)
    }

    /// Records which parent `connection` names, so that the parent's recovery reaches it.
    func noteParent(of connection: Connection) {
        parents.note(connection)
    }

    /// Schedules the children of `parentID` again at their own due times, after the parent changed.
    func wakeChildren(of parentID: String) {
        for id in parents.children(of: parentID) where !inFlight.contains(id) {
            guard let child = state.connection(id) else { continue }
            queue.schedule(id, at: policy.dueAt(child))
        }
    }

    /// The block of `connection` when only a human can lift it; nil otherwise.
    func humanBlock(of connection: Connection) -> ParentBlock? {
        guard let block = parentBlock(of: connection), block.needsHuman else { return nil }
        return block
    }

    private func parentBlock(of connection: Connection) -> ParentBlock? {
        guard connection.grant.derivesFromParent, let parentID = connection.parentID else { return nil }
        let parent = state.connection(parentID)
        let status = parent?.status(at: clock.now(), inFlight: inFlight.contains(parentID), policy: policy)
        return ParentBlock(parent: parent, parentID: parentID, parentStatus: status)
    }

    /// The parent's current access token for `child`, refreshing the parent first when its token is expired or due.
    /// - Parameter asked: whether an operator asked for the child's refresh; the parent is then tried even while it
    ///   waits out a backoff.
    func upstreamToken(for child: Connection, asked: Bool) async -> Upstream {
        guard let parentID = child.parentID else {
            return .blocked(reason: "\(child.id) names no parent to take a token from; import it again", retryAt: nil)
        }
        var refreshedParent = false
        // When the child's refresh asked for the parent's: a refresh of it that another process stores after this
        // answers the ask, and is adopted rather than followed by one more (a second rotation at the provider).
        let askedAt = clock.now()
        // Since when an operator's refresh has waited for another process's refresh of the parent.
        var waitingSince: Date?
        while true {
            guard let parent = state.connection(parentID) else {
                return .blocked(reason: ParentBlock.missing(parentID), retryAt: nil)
            }
            let now = clock.now()
            if inFlight.contains(parentID) {
                // Its refresh is on its way: wait for it, then look again.
                await withCheckedContinuation { waiters[parentID, default: []].append($0) }
                refreshedParent = true
                continue
            }
            if let block = humanBlock(of: child) { return .blocked(reason: block.reason, retryAt: nil) }
            let fresh =
                parent.accessFingerprint != nil
                && (parent.expiresAt.map { $0.timeIntervalSince(now) > Self.upstreamMargin } ?? true)
            let due = policy.dueAt(parent).map { $0 <= now } ?? false
            if fresh, !due || refreshedParent || !parent.isRenewable {
                return readToken(of: parentID)
            }
            let backingOff = parent.failures > 0 && (parent.retryAt.map { $0 > now } ?? false)
            guard parent.isRenewable, !refreshedParent, !backingOff || asked else {
                if fresh { return readToken(of: parentID) }
                let reason =
                    parentBlock(of: child)?.reason
                    ?? "parent \(parentID) has no usable token yet; waiting for its refresh"
                let retry = parent.retryAt.flatMap { $0 > now ? $0 : nil } ?? now.addingTimeInterval(2)
                return .blocked(reason: reason, retryAt: parent.isRenewable ? retry : nil)
            }
            // The parent's token is expired or due: renew it first, as its own refresh (lease, history, events).
            inFlight.insert(parentID)
            let attempt = await performRefresh(parentID, requestedAt: asked ? askedAt : nil)
            refreshedParent = true
            if case .busyElsewhere = attempt {
                // An operator's refresh waits for the other process's result, as `refreshNow` waits for a busy
                // connection, and adopts it at the next claim; the actor's own schedule looks again in 2 s. The
                // wait ends well before the child's own lease, taken just before it.
                let waited = waitingSince ?? clock.now()
                waitingSince = waited
                if asked, !gate.isClosed, clock.now() < waited.addingTimeInterval(leaseDuration - 15) {
                    try? await clock.sleep(seconds: 0.5)
                    refreshedParent = false
                    continue
                }
                let reason =
                    asked
                    ? "parent \(parentID) is being refreshed by another process, which did not store its result "
                        + "within \(Countdown.format(seconds: leaseDuration - 15)); refresh again once it has"
                    : "parent \(parentID) is being refreshed by another process; waiting for it"
                return .blocked(reason: reason, retryAt: clock.now().addingTimeInterval(2))
            }
        }
    }

    /// The parent's stored access token.
    private func readToken(of parentID: String) -> Upstream {
        do {
            guard let token = try store.tokenSecrets(connectionID: parentID).access else {
                return .blocked(reason: "parent \(parentID) holds no access token", retryAt: nil)
            }
            return .token(token)
        } catch {
            return .blocked(
                reason: "parent \(parentID)'s token could not be read: \(error)",
                retryAt: clock.now().addingTimeInterval(policy.backoff(failures: 1, retryAfter: nil)))
        }
    }

    /// Sends the on-behalf-of or token-exchange request of `connection` with the parent's token `upstream`.
    func derivedGrant(
        _ connection: Connection, integration: Integration, secret: Secret?, upstream: Secret
    ) async -> Result<TokenGrant, ProviderError> {
        let scopes = integration.scopes.isEmpty ? connection.grantedScopes : integration.scopes
        if connection.grant == .onBehalfOf {
            return await client.onBehalfOf(
                integration: integration, clientSecret: secret, assertion: upstream, scopes: scopes)
        }
        // FIXME: impersonation only: no actor_token (RFC 8693 delegation), and the subject is always an access token.
        return await client.tokenExchange(
            integration: integration, clientSecret: secret, subjectToken: upstream,
            audiences: integration.audiences, resources: integration.resources, scopes: scopes)
    }
}
