/// The terminal seam: everything the dashboard does to a terminal goes through this.
///
/// ``CursesScreen`` drives a real terminal; ``GridScreen`` keeps an in-memory grid for tests.
protocol Screen: AnyObject {
    /// The current size; it may change after a ``Key/resize``.
    var size: TerminalSize { get }
    /// The terminal's size this moment, which a key typed right after a resize must be judged at: ``size`` changes
    /// only once the resize is read, after keys already waiting.
    var sizeNow: TerminalSize { get }
    /// Writes `text` (no control characters, already clipped to the screen) with `style` at `row`, `column`.
    func put(_ text: String, style: Style, row: Int, column: Int)
    /// Blanks the screen and forgets what it showed, so the next flush repaints every cell.
    func clear()
    /// Makes everything put since the last flush visible.
    func flush()
    /// Waits at most `timeoutMilliseconds` for one key; nil when none arrived in time.
    func readKey(timeoutMilliseconds: Int) -> Key?
    /// Puts `text` on the terminal's clipboard (OSC 52); false when this terminal cannot be asked to.
    func copyToClipboard(_ text: String) -> Bool
    /// Gives the terminal back; safe to call more than once.
    func close()
}

extension Screen {
    var sizeNow: TerminalSize { size }
}
