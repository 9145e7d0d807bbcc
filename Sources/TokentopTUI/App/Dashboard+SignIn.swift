import TokentopCore

/// The sign-in dialog: `a` on a user connection whose integration has a sign-in endpoint starts the flow in the
/// core; the dialog follows it each frame and never waits for it.
extension Dashboard {
    /// Starts the sign-in of `id` and opens its dialog; false when the core has none for `id`.
    func startSignIn(_ id: String) -> Bool {
        guard backend.startReauth(for: id) else { return false }
        // An earlier sign-in's "cancelled" must not stand under this one's progress.
        clearMessage()
        signIn = SignInDialog(id: id)
        pollSignIn()
        setOverlay(.signIn(id: id))
        return true
    }

    /// Reads the core's progress; a new URL or code is queued for the clipboard.
    func pollSignIn() {
        guard let id = signIn.id else { return }
        let progress = backend.reauthProgress(for: id)
        guard progress != signIn.progress else { return }
        signIn.progress = progress
        if let text = progress?.textToCopy, text != signIn.copied {
            signIn.copied = text
            signIn.clipboardRequest = text
        }
    }

    /// The text to put on the clipboard now, if any; taking it clears the request.
    func takeClipboardRequest() -> String? {
        defer { signIn.clipboardRequest = nil }
        return signIn.clipboardRequest
    }

    /// Whether the screen could ask the terminal to take the text.
    func clipboardDelivered(_ sent: Bool) { signIn.clipboardSent = sent }

    /// Esc cancels a running sign-in (or closes a finished one), Enter and `q` close a finished one, `c` sends
    /// the URL or code to the clipboard again; other keys do nothing, so a stray key never cancels a sign-in.
    func handleSignInKey(_ key: Key, id: String) {
        let finished = signIn.progress?.isFinished ?? true
        switch key {
        case .escape:
            backend.cancelReauth(for: id)
            if !finished { say("re-auth of \(id) cancelled") } else { sayOutcome(id) }
            closeSignIn()
        case .enter, .character("q"):
            guard finished else { return }
            backend.cancelReauth(for: id)
            sayOutcome(id)
            closeSignIn()
        case .character("c"):
            if let text = signIn.progress?.textToCopy { signIn.clipboardRequest = text }
        default:
            break
        }
    }

    private func sayOutcome(_ id: String) {
        switch signIn.progress {
        case .succeeded?: say("\(id) re-authorized")
        case .failed(let failure)?: say("re-auth of \(id) failed: \(failure.message)", isError: true)
        default: break
        }
    }

    private func closeSignIn() {
        signIn = SignInDialog()
        setOverlay(nil)
    }
}
