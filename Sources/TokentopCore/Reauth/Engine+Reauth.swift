import Foundation

/// Users' re-authorizations: the browser flow (authorization code with PKCE, loopback redirect) or the device
/// flow, run in the core while the front end shows the progress.
extension Engine {
    /// How connection `id` can be re-authorized from tokentop, or why it cannot: it is not a user connection,
    /// its integration has no endpoint to sign in at (then only ``reauthPrompt(for:)`` applies), or this process
    /// is read-only.
    public func reauthMethod(for id: String) -> Result<ReauthMethod, ReauthFailure> {
        guard let connection = state.connection(id) else {
            return .failure(
                ReauthFailure(
                    .unknownConnection,
                    "no connection named \(SafeText.name(id)) in \(store.path); `tokentop list` shows the "
                        + "connection ids"))
        }
        guard !readOnly else {
            return .failure(
                ReauthFailure(
                    .readOnly,
                    "\(id): not re-authorized: this tokentop runs read-only (--readonly, or readonly in the "
                        + "configuration)"))
        }
        if let problem = store.fileProblem() {
            // The new tokens would be stored in a deleted file: nobody should sign in for them.
            return .failure(ReauthFailure(.storage, "\(id): not re-authorized: \(problem)"))
        }
        guard let integration = state.integration(connection.integrationID) else {
            return .failure(
                ReauthFailure(.configuration, "\(id) names an unknown integration \(connection.integrationID)"))
        }
        if let refusal = Self.integrationRefusal(of: connection) { return .failure(refusal) }
        return Result { () throws(ReauthFailure) in try ReauthMethod.choose(for: connection, integration: integration) }
    }

    /// Why no sign-in starts for `connection` while its token endpoint refuses the integration itself (its client
    /// credentials, or a redirect away from its URL): a sign-in ends with a request there, made the same way, which
    /// would be refused alike after the user went through it all. Other configuration errors (`invalid_scope`, a
    /// grant type the client may not use for refreshes) may well be mended by a new sign-in.
    static func integrationRefusal(of connection: Connection) -> ReauthFailure? {
        guard connection.failures > 0, connection.reauthReason == nil, let error = connection.lastError,
            error.kind == .configuration, ["invalid_client", "redirect"].contains(error.error)
        else { return nil }
        return ReauthFailure(
            .configuration,
            "the token endpoint refused integration \(connection.integrationID) at the last refresh of "
                + "\(connection.id) (\(error.summary)), and a sign-in ends with a request there, made the same way: "
                + "fix the integration first (import it again), then refresh \(connection.id); it renews itself, or "
                + "shows that it needs re-auth")
    }

    /// Starts the re-authorization of user connection `id` in the background and returns its session; when one
    /// is already running for `id`, returns that one.
    ///
    /// The start and the outcome go to the audit log; the outcome also to the connection's history, and a
    /// success replaces the connection's tokens (``Store/recordReauthorization``).
    /// - Throws: ``ReauthFailure`` when the connection is unknown or cannot be re-authorized here.
    public func startReauth(
        _ id: String, options: ReauthOptions = ReauthOptions()
    ) throws(ReauthFailure) -> ReauthSession {
        let method = try reauthMethod(for: id).get()
        guard let connection = state.connection(id), let integration = state.integration(connection.integrationID)
        else { throw ReauthFailure(.unknownConnection, "no connection named \(SafeText.name(id)) in \(store.path)") }
        let (session, isNew) = try reauths.insert(for: id) { ReauthSession(connectionID: id, method: method) }
        guard isNew else { return session }
        let flow = ReauthFlow(
            store: store, client: client, clock: timeSource, policy: policy, connection: connection,
            integration: integration, method: method, options: options,
            publish: { [weak session] in session?.publish($0) })
        session.run { [self] in
            // Written off the caller's thread (the dashboard starts a sign-in between two keystrokes) and beside the
            // flow: another process's lock delays the entry, not the sign-in, and the entry is written again while
            // the lock lasts (up to a minute). The outcome is written after it, so the log keeps their order.
            let started = Task {
                await auditRetrying(.reauth, id, "started", "\(method.title) for \(connection.subject)")
            }
            let outcome = await flow.run()
            // A cancelled sign-in does not wait out a lock for its start's entry.
            if case .failed(let failure) = outcome.progress, failure.code == .cancelled { started.cancel() }
            await started.value
            switch outcome.progress {
            case .succeeded(let updated):
                state.update(updated, event: outcome.event)
                audit(.reauth, id, "ok", outcome.event.message)
            case .failed(let failure):
                state.append(event: outcome.event)
                let cancelled = failure.code == .cancelled
                audit(.reauth, id, cancelled ? "cancelled" : "failed", failure.message, briefly: cancelled)
            default:
                break
            }
            // Published last, so that whoever sees the outcome finds the snapshot already showing it.
            session.publish(outcome.progress)
        }
        return session
    }

    /// The re-authorization of `id` running or last finished here, if any.
    public func reauthSession(for id: String) -> ReauthSession? { reauths.session(for: id) }

    /// Starts the re-authorization of `id` when it can have one; false when only a prompt fits.
    public func startReauth(for id: String) -> Bool {
        (try? startReauth(id)) != nil
    }

    /// The progress of the re-authorization of `id`; nil when none was started or it was forgotten.
    public func reauthProgress(for id: String) -> ReauthProgress? { reauths.session(for: id)?.progress }

    /// Cancels the re-authorization of `id` if it still runs, and forgets it.
    public func cancelReauth(for id: String) {
        reauths.remove(id)?.cancel()
    }

    /// Cancels every re-authorization and waits until each has recorded its outcome.
    func cancelAllReauths() async {
        for session in reauths.all() {
            session.cancel()
            await session.finished()
        }
    }

}
