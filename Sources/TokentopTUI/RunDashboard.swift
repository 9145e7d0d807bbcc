import Foundation
import TokentopCore

/// Opens the dashboard on this terminal, runs it until the user quits, and restores the terminal.
///
/// The theme is read before the terminal is touched, so a bad theme file is reported as ordinary text. The
/// terminal is restored on every way out: `q`, a thrown error, SIGINT, SIGTERM or SIGHUP. What the process writes
/// to standard error while the dashboard runs is held and printed after the terminal is restored.
///
/// - Parameters:
///   - backend: the core, usually `Engine` (`extension Engine: DashboardBackend {}`).
///   - themesDirectory: where `NAME.theme` files live, or nil when there is none (then only `default`, built in,
///     loads); a directory that does not exist is a ``ThemeError``, not a silent fallback.
///   - themeName: which theme to load, as `--theme NAME` gives it (`default`, `monochrome`, …); `default` falls
///     back to the built-in copy when its file is missing, any other missing theme is a ``ThemeError``.
///   - keys: the configuration's key overrides, action name to character (`["refresh": "R"]`).
///   - maxIterations: stop after this many frames (for smoke tests, like htop's `-n`); nil runs until `q`.
/// A theme file with a bad line does not stop the dashboard: it opens in the built-in default theme and says which
/// line and role to fix.
/// - Throws: ``ThemeError`` for a missing theme; ``TerminalError`` when standard input or output is not a
///   terminal, `TERM` is unset or unknown, or a signal closed the dashboard (``TerminalError/interrupted(signal:)``,
///   whose ``TerminalError/exitCode`` is 128 + the signal).
/// Checks everything ``runDashboard(backend:themesDirectory:themeName:keys:maxIterations:)`` would refuse, without
/// touching the terminal: the key overrides, the theme, then the terminal itself. Called before a store is opened
/// or created, so that a dashboard that cannot start leaves no file behind.
/// - Throws: ``KeyMapError``, ``ThemeError``, or ``TerminalError`` when standard input or output is not a terminal,
///   or `TERM` is unset, unknown, or a type that cannot place the cursor.
public func checkDashboardCanStart(themesDirectory: String?, themeName: String, keys: [String: String]) throws {
    _ = try checkDashboardSettings(themesDirectory: themesDirectory, themeName: themeName, keys: keys)
    try CursesScreen.check(environment: ProcessInfo.processInfo.environment)
}

/// Checks the dashboard's settings as ``runDashboard(backend:themesDirectory:themeName:keys:maxIterations:)`` reads
/// them, without the terminal: for `tokentop config`, which must not show as in force a theme the dashboard refuses.
/// - Returns: what the dashboard would say about a theme file with a bad line (it opens in the built-in default
///   theme then), or nil.
/// - Throws: ``KeyMapError``, or ``ThemeError`` for a theme that cannot be found, naming where it was looked for.
public func checkDashboardSettings(
    themesDirectory: String?, themeName: String, keys: [String: String]
) throws -> String? {
    _ = try KeyMap(overrides: keys)
    let environment = ProcessInfo.processInfo.environment
    let (_, warning) = try Theme.loadFallingBack(name: themeName, directory: themesDirectory, environment: environment)
    return warning.map { "\($0); the dashboard would use the built-in default theme" }
}

public func runDashboard(
    backend: any DashboardBackend, themesDirectory: String?, themeName: String = "default",
    keys: [String: String] = [:], maxIterations: Int? = nil
) throws {
    // Checked before the terminal is touched, like the theme: a clash is reported as ordinary text.
    let keyMap = try KeyMap(overrides: keys)
    let environment = ProcessInfo.processInfo.environment
    let (theme, warning) = try Theme.loadFallingBack(
        name: themeName, directory: themesDirectory, environment: environment)
    let screen = try CursesScreen(useColor: theme.usesColor, environment: environment)
    defer { screen.close() }
    let dashboard = Dashboard(backend: backend, size: screen.size)
    dashboard.keyMap = keyMap
    if let warning {
        // Said twice: on screen for ten seconds, and on standard error once the terminal is restored.
        dashboard.say("\(warning); using the built-in default theme", isError: true)
        // The warning quotes the theme file, which may hold escape sequences: cleaned like every other message.
        let text = SafeText.lines("\(warning); the built-in default theme was used")
        FileHandle.standardError.write(Data("tokentop: \(text)\n".utf8))
    }
    let loop = DashboardLoop(dashboard: dashboard, screen: screen, renderer: DashboardRenderer(theme: theme))
    loop.run(maxIterations: maxIterations)
    if let signal = loop.endedBySignal {
        screen.close()
        throw TerminalError.interrupted(signal: signal, again: screen.interruptedAgain)
    }
}
