import Foundation

/// Runs the dashboard: poll the snapshot, draw the frame, wait for a key until the next whole second.
///
/// The wait ends at the next whole second of the time source, so countdowns tick once a second however many
/// keys arrive in between; it also ends when the core's snapshot changes (a refresh here or in another process),
/// looked at four times a second, so a change shows well within a second.
final class DashboardLoop {
    let dashboard: Dashboard
    let screen: any Screen
    let renderer: DashboardRenderer
    /// How many frames were drawn.
    private(set) var iterations = 0
    /// The signal that ended the loop, when one did.
    private(set) var endedBySignal: Int32?
    private var previousFrame: Canvas?
    /// The version of the snapshot the last frame showed.
    private var drawnVersion: UInt64 = 0
    /// How often the wait for a key looks whether the snapshot changed.
    static let changeCheckMilliseconds = 250

    init(dashboard: Dashboard, screen: any Screen, renderer: DashboardRenderer) {
        self.dashboard = dashboard
        self.screen = screen
        self.renderer = renderer
    }

    /// Runs until `q` (or a signal), or until `maxIterations` frames were drawn, like htop's `-n`.
    func run(maxIterations: Int? = nil) {
        /// A key read while taking typed text, to be handled after the next frame.
        var pending: Key?
        while !dashboard.shouldQuit {
            drawFrame()
            if let maxIterations, iterations >= maxIterations { return }
            guard let key = pending ?? waitForKey() else { continue }
            pending = nil
            switch key {
            case .resize, .redraw:
                screen.clear()
                previousFrame = nil
            case .signal(let number):
                endedBySignal = number
                return
            default:
                // The size a key is judged at is the terminal's now, not the last frame's, nor the one curses knows
                // until it reads the resize queued behind this key.
                dashboard.resize(to: screen.sizeNow)
                dashboard.handle(key)
                pending = takeTypedText()
            }
        }
    }

    /// Takes the text already waiting while the filter is being typed, a key at a time, with no frame between: a
    /// paste arrives as hundreds of keys, and a frame for each kept the dashboard deaf for seconds. Returns the first
    /// key that is not text (Enter, Esc, a resize), which waits for the frame that shows the text.
    private func takeTypedText() -> Key? {
        while dashboard.isEditingFilter, let key = screen.readKey(timeoutMilliseconds: 0) {
            switch key {
            case .character, .backspace, .paste: dashboard.handle(key)
            default: return key
            }
        }
        return nil
    }

    /// A key, or nil at the next whole second or as soon as the snapshot changed.
    private func waitForKey() -> Key? {
        // Counted in slices rather than read from the clock, so a screen whose reads return at once (a test's)
        // still ends the wait.
        var left = Self.millisecondsToNextSecond(after: dashboard.now)
        while left > 0 {
            let slice = min(left, Self.changeCheckMilliseconds)
            if let key = screen.readKey(timeoutMilliseconds: slice) { return key }
            left -= slice
            if left > 0, dashboard.backend.snapshot().version != drawnVersion { return nil }
        }
        return nil
    }

    /// Polls the backend, draws a frame and writes only the cells that changed since the last one.
    func drawFrame() {
        let snapshot = dashboard.backend.snapshot()
        drawnVersion = snapshot.version
        dashboard.update(snapshot: snapshot)
        if let text = dashboard.takeClipboardRequest() { dashboard.clipboardDelivered(screen.copyToClipboard(text)) }
        if let text = dashboard.copyRequest {
            dashboard.copyRequest = nil
            let environment = ProcessInfo.processInfo.environment
            let via =
                SystemClipboard.copy(text, environment: environment) ?? (screen.copyToClipboard(text) ? "OSC 52" : nil)
            dashboard.copied(text, via: via)
        }
        dashboard.resize(to: screen.size)
        let frame = renderer.render(dashboard, now: dashboard.now)
        for run in frame.changes(since: previousFrame) {
            screen.put(run.text, style: run.style, row: run.row, column: run.column)
        }
        screen.flush()
        previousFrame = frame
        iterations += 1
    }

    /// Milliseconds from `now` to the next whole second, at least 1.
    static func millisecondsToNextSecond(after now: Date) -> Int {
        let seconds = now.timeIntervalSince1970
        let fraction = seconds - seconds.rounded(.down)
        return min(1_000, max(1, Int(((1 - fraction) * 1_000).rounded(.up))))
    }
}
