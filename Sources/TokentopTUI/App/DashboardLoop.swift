import Foundation

/// Runs the dashboard: poll the snapshot, draw the frame, wait for a key until the next whole second.
///
/// The wait ends at the next whole second of the time source, so countdowns tick once a second however many
/// keys arrive in between.
final class DashboardLoop {
    let dashboard: Dashboard
    let screen: any Screen
    let renderer: DashboardRenderer
    /// How many frames were drawn.
    private(set) var iterations = 0
    /// The signal that ended the loop, when one did.
    private(set) var endedBySignal: Int32?
    private var previousFrame: Canvas?

    init(dashboard: Dashboard, screen: any Screen, renderer: DashboardRenderer) {
        self.dashboard = dashboard
        self.screen = screen
        self.renderer = renderer
    }

    /// Runs until `q` (or a signal), or until `maxIterations` frames were drawn, like htop's `-n`.
    func run(maxIterations: Int? = nil) {
        while !dashboard.shouldQuit {
            drawFrame()
            if let maxIterations, iterations >= maxIterations { return }
            let timeout = Self.millisecondsToNextSecond(after: dashboard.now)
            guard let key = screen.readKey(timeoutMilliseconds: timeout) else { continue }
            switch key {
            case .resize, .redraw:
                screen.clear()
                previousFrame = nil
            case .signal(let number):
                endedBySignal = number
                return
            default:
                dashboard.handle(key)
            }
        }
    }

    /// Polls the backend, draws a frame and writes only the cells that changed since the last one.
    func drawFrame() {
        dashboard.update(snapshot: dashboard.backend.snapshot())
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
