import Foundation

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
    static let builtIn: Theme = try! parse(DefaultTheme.text, file: "built-in default theme", base: Theme(styles: [:]))

    /// The same theme with every colour removed (see ``Style/monochrome``).
    func monochrome() -> Theme {
        Theme(styles: styles.mapValues(\.monochrome))
    }

    /// Whether the environment asks for no colour (https://no-color.org: set and not empty).
    static func noColorRequested(environment: [String: String]) -> Bool {
        !(environment["NO_COLOR"] ?? "").isEmpty
    }

    /// Loads the theme `name` from `directory`, falling back to the built-in default theme.
    ///
    /// - Parameters:
    ///   - name: the theme's file name without `.theme`.
    ///   - directory: where theme files live; nil uses the built-in theme only.
    ///   - environment: read for `NO_COLOR`.
    /// - Throws: ``ThemeError`` when the file is malformed, or when a theme other than `default` is missing.
    static func load(name: String, directory: String?, environment: [String: String]) throws -> Theme {
        let theme = try loadColored(name: name, directory: directory)
        return noColorRequested(environment: environment) ? theme.monochrome() : theme
    }

    private static func loadColored(name: String, directory: String?) throws -> Theme {
        guard !name.isEmpty, !name.contains("/") else {
            throw ThemeError(file: name, line: nil, message: "a theme name is a file name without '/' or '.theme'")
        }
        if let directory {
            let path = (directory as NSString).appendingPathComponent("\(name).theme")
            if FileManager.default.fileExists(atPath: path) {
                let text: String
                do {
                    text = try String(contentsOfFile: path, encoding: .utf8)
                } catch {
                    throw ThemeError(file: path, line: nil, message: "cannot read the file as UTF-8 text (\(error))")
                }
                return try parse(text, file: path)
            }
        }
        if name == "default" { return builtIn }
        let place = directory.map { "in \($0)" } ?? "(no themes directory was given)"
        throw ThemeError(
            file: "\(name).theme", line: nil,
            message: "no theme named '\(name)' \(place); use 'default' or add \(name).theme there")
    }
}
