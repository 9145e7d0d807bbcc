import Foundation
import TokentopCore

/// Semantic roles mapped to styles. Widgets ask for a role; the theme decides colours and attributes.
struct Theme: Sendable {
    var styles: [ThemeRole: Style]

    init(styles: [ThemeRole: Style]) {
        self.styles = styles
    }

    /// The style of `role`; a role the theme leaves out is drawn plain.
    subscript(role: ThemeRole) -> Style { styles[role] ?? .plain }

    /// Whether any role asks for colour; false for a NO_COLOR theme.
    var usesColor: Bool { styles.values.contains { $0.hasColor } }

    /// The theme built from `themes/default.theme`'s embedded copy.
    // The embedded text is ours and ThemeTests parses it, so a failure here is a build defect, not a user error.
    static let builtIn: Theme = try! parse(
        ShippedThemes.texts["default"]!, file: "built-in default theme", base: Theme(styles: [:]))

    /// The same theme with every colour removed (see ``Style/monochrome``).
    func monochrome() -> Theme {
        Theme(styles: styles.mapValues(\.monochrome))
    }

    /// Whether the environment asks for no colour (https://no-color.org: set and not empty).
    static func noColorRequested(environment: [String: String]) -> Bool {
        !(environment["NO_COLOR"] ?? "").isEmpty
    }

    /// Loads the theme `name` from `directory`.
    ///
    /// - Parameters:
    ///   - name: the theme's file name without `.theme`, such as `default` or `monochrome`.
    ///   - directory: where theme files live; nil when there is none, and then only `default` (built in) loads.
    ///   - environment: read for `NO_COLOR`.
    /// - Throws: ``ThemeError`` when the file is malformed, when `directory` does not exist, or when a theme other
    ///   than `default` is not there; the error names the path it looked for. A `default.theme` missing from an
    ///   existing directory falls back to the built-in copy.
    static func load(name: String, directory: String?, environment: [String: String]) throws -> Theme {
        let theme = try loadColored(
            name: name, directory: userDirectory(holding: name, environment) ?? directory, environment: environment)
        return noColorRequested(environment: environment) ? theme.monochrome() : theme
    }

    /// Loads like ``load(name:directory:environment:)``, except that a theme file with a bad line gives way to the
    /// built-in default: the dashboard still opens, and the returned error says which line and role to fix.
    /// - Throws: ``ThemeError`` only when the theme cannot be found at all.
    static func loadFallingBack(
        name: String, directory: String?, environment: [String: String]
    ) throws -> (theme: Theme, warning: ThemeError?) {
        do {
            return (try load(name: name, directory: directory, environment: environment), nil)
        } catch let error as ThemeError where error.line != nil {
            let theme = noColorRequested(environment: environment) ? builtIn.monochrome() : builtIn
            return (theme, error)
        }
    }

    /// `$XDG_CONFIG_HOME/tokentop/themes` when it holds the theme asked for: a user's file overrides a shipped one.
    private static func userDirectory(holding name: String, _ environment: [String: String]) -> String? {
        guard !name.contains("/") else { return nil }
        let directory = (Paths.configDirectory(environment: environment) as NSString).appendingPathComponent("themes")
        let file = (directory as NSString).appendingPathComponent("\(name).theme")
        return FileManager.default.fileExists(atPath: file) ? directory : nil
    }

    private static func loadColored(name: String, directory: String?, environment: [String: String]) throws -> Theme {
        if let problem = Settings.themeNameProblem(name) { throw ThemeError(file: name, line: nil, message: problem) }
        let file = "\(name).theme"
        guard let directory else {
            if let embedded = try embedded(name) { return embedded }
            throw ThemeError(
                file: file, line: nil,
                message: "no theme named '\(name)': no themes directory was found to look for \(file) in; "
                    + "name one with --themes DIR, or use 'default'")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ThemeError(
                file: directory, line: nil,
                message: "the themes directory does not exist, so \(file) cannot be loaded from it; "
                    + "name an existing directory with --themes DIR")
        }
        let path = (directory as NSString).appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: path) else {
            if let embedded = try embedded(name) { return embedded }
            throw ThemeError(
                file: path, line: nil,
                message: "no theme named '\(name)': the file does not exist; \(available(in: directory))")
        }
        try checkFile(path, environment: environment)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ThemeError(file: path, line: nil, message: "cannot read the file")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            // Named by its line, like any other bad line, so the dashboard can still open in the default theme.
            let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            let bad = (lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0) + 1
            throw ThemeError(file: path, line: bad, message: "not UTF-8 text; save the file as UTF-8")
        }
        return try parse(text, file: path)
    }

    /// The most bytes a theme file may hold: the shipped ones hold about 2 KiB.
    static let maximumFileBytes = 64 << 10

    /// Refuses a theme file that is the key file by any name (a link to it, another path to the same file), one
    /// that is no regular file (a pipe would stop the start for ever), and one larger than any theme: each is a
    /// whole-file problem, so the dashboard does not open on it either.
    private static func checkFile(_ path: String, environment: [String: String]) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // the read that follows says why it cannot be read
        var key = stat()
        if stat(SecretBox.keyFilePath(environment: environment), &key) == 0, key.st_dev == info.st_dev,
            key.st_ino == info.st_ino
        {
            throw ThemeError(
                file: path, line: nil,
                message: "refusing to read the key file as a theme; name a theme file with --theme or --themes")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ThemeError(file: path, line: nil, message: "not a regular file; a theme is a text file")
        }
        guard info.st_size <= maximumFileBytes else {
            throw ThemeError(
                file: path, line: nil,
                message: "larger than \(maximumFileBytes >> 10) KiB, which no theme file is; name a theme file")
        }
    }

    /// A shipped theme built into the binary, for when its file is not at hand.
    private static func embedded(_ name: String) throws -> Theme? {
        if name == "default" { return builtIn }  // parsed once, not on every load
        guard let text = ShippedThemes.texts[name] else { return nil }
        return try parse(text, file: "built-in \(name) theme")
    }

    /// `themes there: default, monochrome`, or what to do when there are none.
    private static func available(in directory: String) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".theme") }.map { String($0.dropLast(".theme".count)) }.sorted()
        if names.isEmpty { return "the directory has no .theme files; use 'default'" }
        return "themes there: \(names.joined(separator: ", "))"
    }
}
