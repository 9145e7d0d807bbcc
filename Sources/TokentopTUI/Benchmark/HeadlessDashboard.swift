import Foundation
import TokentopCore

/// The real dashboard (state, key handling, widgets, frame diff) drawn into the in-memory screen, for
/// `tokentop-bench`: every frame runs the same view code as the terminal, only the last step writes to a grid.
///
/// It exists so that the benchmark can time a key to its finished frame without a terminal, and without making
/// the dashboard's internals public.
public final class HeadlessDashboard {
    /// The keys the benchmark presses.
    public enum Press: Sendable, Equatable {
        /// Cursor one row down (`j`).
        case down
        /// Cursor one row up (`k`).
        case up
        /// One page down (`PgDn`).
        case pageDown
        /// First row (`g`).
        case first
        /// Opens the filter prompt (`/`).
        case startFilter
        /// One character typed (into the filter when the prompt is open).
        case character(Character)
        /// Removes the filter's last character.
        case backspace
        /// Closes the prompt, or clears the filter.
        case escape
        /// One scope (`1`–`5`), by the scope.
        case scope(IdentityScope)
        /// Every scope (`0`).
        case allScopes
    }

    private let screen: GridScreen
    private let loop: DashboardLoop

    /// Creates the dashboard on `backend` at a screen of `columns` × `rows`, in the built-in default theme; nothing
    /// is drawn until ``drawFrame()``.
    public init(backend: any DashboardBackend, columns: Int, rows: Int) {
        screen = GridScreen(columns: columns, rows: rows)
        let dashboard = Dashboard(backend: backend, size: screen.size)
        loop = DashboardLoop(dashboard: dashboard, screen: screen, renderer: DashboardRenderer(theme: .builtIn))
    }

    /// Takes the newest snapshot and draws one frame, as the loop does once a second.
    public func drawFrame() { loop.drawFrame() }

    /// Handles one key and draws the frame it leads to.
    public func press(_ press: Press) {
        loop.dashboard.handle(Self.key(press))
        loop.drawFrame()
    }

    /// Runs the real loop for `seconds` of wall time: a frame a second, waiting in between as a terminal read would.
    public func idle(seconds: Double) {
        let end = Date().addingTimeInterval(seconds)
        screen.onIdleWait = { milliseconds in
            let left = end.timeIntervalSinceNow
            guard left > 0 else { return }
            usleep(UInt32(min(Double(milliseconds) / 1_000, left) * 1_000_000))
        }
        while Date() < end {
            loop.run(maxIterations: loop.iterations + 1)
            // The loop returns after drawing; this is its wait for a key, which never comes.
            _ = screen.readKey(timeoutMilliseconds: DashboardLoop.millisecondsToNextSecond(after: Date()))
        }
        screen.onIdleWait = nil
    }

    /// The screen as lines, trailing spaces removed.
    public var text: [String] { screen.text }

    /// How many connections the table lists with the current filter and scope.
    public var shownConnections: Int { loop.dashboard.rows.connectionPositions.count }

    /// How many frames were drawn.
    public var frames: Int { loop.iterations }

    private static func key(_ press: Press) -> Key {
        switch press {
        case .down: .down
        case .up: .up
        case .pageDown: .pageDown
        case .first: .character("g")
        case .startFilter: .character("/")
        case .character(let character): .character(character)
        case .backspace: .backspace
        case .escape: .escape
        case .scope(let scope): .character(Character("\(scope.ordinal + 1)"))
        case .allScopes: .character("0")
        }
    }
}
