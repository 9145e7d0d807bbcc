import Foundation
import TokentopCore

/// What the sign-in dialog shows: the core's progress for one connection, and what was put on the clipboard.
struct SignInDialog: Equatable {
    /// The connection signing in; nil while no dialog is open.
    var id: String?
    /// The core's progress, read each frame.
    var progress: ReauthProgress?
    /// The text last put on the clipboard, so each URL or code is sent once.
    var copied: String?
    /// Text the loop should put on the clipboard before the next frame.
    var clipboardRequest: String?
    /// Whether the terminal could be asked to take it; nil until something was sent.
    var clipboardSent: Bool?

    /// The dialog's title and paragraphs for connection `id`.
    static func content(id: String, dashboard: Dashboard) -> (title: String, paragraphs: [String]) {
        let title = "Re-auth \(id)"
        let subject = dashboard.snapshot.connections.first { $0.id == id }?.subject ?? id
        let now = dashboard.now
        let dialog = dashboard.signIn
        switch dialog.progress {
        case nil:
            return (title, ["No sign-in is running for \(id)."])
        case .starting(let method):
            return (title, ["Starting the \(method.title) for \(subject)…"])
        case .waitingForBrowser(let step):
            var paragraphs = ["Open this URL in a browser and sign in as \(subject):", step.url.absoluteString]
            if let note = clipboardNote(dialog, what: "the URL") { paragraphs.append(note) }
            paragraphs.append(
                "Waiting for the browser to come back to \(step.redirectURI): "
                    + "\(Countdown.format(until: step.deadline, now: now)) left.")
            return (title, paragraphs)
        case .waitingForDevice(let step):
            var paragraphs = [
                "On any device, open \(step.verificationURI.absoluteString) and enter the code:",
                step.userCode,
            ]
            if let complete = step.verificationURIComplete {
                paragraphs.append("Or open \(complete.absoluteString)")
            }
            let what = step.verificationURIComplete == nil ? "the code" : "that URL"
            if let note = clipboardNote(dialog, what: what) { paragraphs.append(note) }
            paragraphs.append(
                "Waiting for \(subject) to approve: checking every \(Int(step.interval))s; the code expires in "
                    + "\(Countdown.format(until: step.expiresAt, now: now)).")
            return (title, paragraphs)
        case .exchanging:
            return (title, ["Signed in. Fetching and storing the new tokens…"])
        case .waitingToStore(let problem):
            return (
                title,
                [
                    "Signed in, but the database cannot take the new tokens yet: \(problem).",
                    "Trying again for up to a minute; Esc gives them up, and \(id) stays as it was.",
                ]
            )
        case .succeeded(let connection):
            var facts = "Expires in \(Countdown.format(until: connection.expiresAt, now: now))"
            if !connection.grantedScopes.isEmpty {
                facts += "; scopes: \(connection.grantedScopes.joined(separator: " "))"
            }
            facts += connection.refreshFingerprint == nil ? "; no refresh token." : "; refresh token stored."
            return (title, ["✓ Re-authorized \(id) (\(subject)).", facts])
        case .failed(let failure):
            return (title, ["✕ Re-auth failed: \(failure.message)."])
        }
    }

    /// The hint bar while the dialog is open.
    static func hints(_ dashboard: Dashboard) -> [String] {
        guard let progress = dashboard.signIn.progress, !progress.isFinished else { return ["Enter/Esc close"] }
        return progress.textToCopy == nil ? ["Esc cancel"] : ["Esc cancel", "c copy again"]
    }

    private static func clipboardNote(_ dialog: SignInDialog, what: String) -> String? {
        switch dialog.clipboardSent {
        case true?: "Sent \(what) to the clipboard (OSC 52), where the terminal allows it; c sends it again."
        case false?: "This terminal takes no clipboard sequence (OSC 52): copy \(what) by hand."
        case nil: nil
        }
    }
}
