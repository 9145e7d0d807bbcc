import Dispatch
import Foundation
import TokentopCore
import TokentopTUI

/// `tokentop reauth ID` for a user connection: runs the sign-in in the core and tells the user, step by step,
/// what to do; exits 0 once the new tokens are stored, 1 otherwise.
struct ReauthCommand {
    var engine: Engine
    var id: String
    var options: ReauthOptions
    /// Whether to try to open a browser on the sign-in URL.
    var openBrowser: Bool
    var environment: [String: String]

    func run() async -> Int32 {
        let session: ReauthSession
        do {
            session = try engine.startReauth(id, options: options)
        } catch {
            Output.error("\(id): \(error.message)")
            return 1
        }
        let signals = cancelOnSignal(session)
        defer { signals.cancel() }
        let subject = engine.snapshot().connections.first { $0.id == id }?.subject ?? id
        say("\(id): signing \(subject) in again by \(session.method.title)")
        var shownInterval: Double?
        var shownProblem: String?
        for await progress in session.updates() {
            switch progress {
            case .starting:
                break
            case .waitingForBrowser(let step):
                let now = engine.timeSource.now()
                say(
                    "Open this URL in a browser and sign in as \(subject):\n\n  \(step.url.absoluteString)\n\n"
                        + clipboardNote(step.url.absoluteString) + browserNote(step.url)
                        + "Waiting up to \(Countdown.format(until: step.deadline, now: now)) for the browser to "
                        + "come back to \(step.redirectURI); Ctrl-C cancels.")
            case .waitingForDevice(let step):
                if let shown = shownInterval {
                    if step.interval != shown { say("checking every \(Int(step.interval))s now") }
                } else {
                    let now = engine.timeSource.now()
                    var text =
                        "On any device, open \(step.verificationURI.absoluteString) and enter the code:\n\n"
                        + "  \(step.userCode)\n\n"
                    if let complete = step.verificationURIComplete {
                        text += "or open \(complete.absoluteString)\n"
                    }
                    text += clipboardNote(progress.textToCopy ?? step.userCode)
                    text +=
                        "Waiting for \(subject) to approve; the code expires in "
                        + "\(Countdown.format(until: step.expiresAt, now: now)); checking every "
                        + "\(Int(step.interval))s; Ctrl-C cancels."
                    say(text)
                }
                shownInterval = step.interval
            case .exchanging:
                say("\(id): signed in; fetching and storing the new tokens")
            case .waitingToStore(let problem):
                // Said once for each problem, not at every try.
                guard problem != shownProblem else { break }
                shownProblem = problem
                say(
                    "\(id): the database cannot take the new tokens yet (\(problem)); trying again for up to a "
                        + "minute; Ctrl-C gives them up")
            case .succeeded(let connection):
                let left = Countdown.format(
                    until: connection.expiresAt, now: engine.timeSource.now(), assumed: connection.expiryAssumed)
                var line = "\(id): re-authorized; expires in \(left)"
                if !connection.grantedScopes.isEmpty {
                    line += "; scopes: \(connection.grantedScopes.joined(separator: " "))"
                }
                line += connection.refreshFingerprint == nil ? "; no refresh token" : "; refresh token stored"
                say(line)
                await engine.drainAudit()
                return 0
            case .failed(let failure):
                Output.error("\(id): re-auth failed: \(failure.message)")
                await engine.drainAudit()
                return 1
            }
        }
        return 1
    }

    /// One block of text on stdout, flushed at once: a script reading the pipe needs the URL while we wait.
    private func say(_ text: String) {
        Output.out(text)
        fflush(nil)
    }

    /// Sends `text` to the terminal's clipboard when stdout is one that may take it, and says so.
    private func clipboardNote(_ text: String) -> String {
        guard TerminalClipboard.isUsable(environment: environment, outputIsTerminal: isatty(STDOUT_FILENO) == 1),
            let sequence = TerminalClipboard.sequence(for: text)
        else { return "" }
        print(sequence, terminator: "")
        return "(copied to the clipboard, where the terminal allows OSC 52)\n"
    }

    /// Opens a browser on `url` when asked to and a display is there to show it.
    private func browserNote(_ url: URL) -> String {
        guard openBrowser, ["DISPLAY", "WAYLAND_DISPLAY"].contains(where: { !(environment[$0] ?? "").isEmpty }),
            let opener = (environment["PATH"] ?? "").split(separator: ":").map({ "\($0)/xdg-open" })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url.absoluteString]
        process.environment = ChildEnvironment.variables()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        // Not waited for: a browser that xdg-open starts may outlive us, and nothing here depends on it.
        guard (try? process.run()) != nil else { return "" }
        return "(opened in the browser; --no-browser turns that off)\n"
    }

    /// Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped SSH session) cancel the sign-in, so that its listener
    /// closes and the attempt is recorded.
    private func cancelOnSignal(_ session: ReauthSession) -> SignalSources.Watch {
        SignalSources.watch([SIGINT, SIGTERM, SIGHUP]) { _ in session.cancel() }
    }
}
