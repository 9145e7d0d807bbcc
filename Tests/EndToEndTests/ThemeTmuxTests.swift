import Foundation
import Testing

/// Each shipped theme drawn by the real binary in a real terminal, and a broken user theme giving way.
@Suite(.serialized)
struct ThemeTmuxTests {
    /// The SGR parameter lists on a screen, such as `1;38;5;4`: what the theme made the terminal draw with.
    static func styles(_ screen: String) -> Set<String> {
        var found: Set<String> = []
        var rest = Substring(screen)
        while let start = rest.range(of: "\u{1B}[") {
            rest = rest[start.upperBound...]
            guard let end = rest.firstIndex(where: { !("0"..."9").contains($0) && $0 != ";" }) else { break }
            if rest[end] == "m" { found.insert(String(rest[..<end])) }
            rest = rest[end...]
        }
        return found
    }

    /// Whether an SGR parameter list sets a colour (30–37, 39–47, 49, 90–107, or a 256-colour form).
    static func setsColour(_ parameters: String) -> Bool {
        let numbers = parameters.split(separator: ";").compactMap { Int($0) }
        return numbers.contains { (30...38).contains($0) || (40...48).contains($0) || (90...107).contains($0) }
    }

    /// The repository's `themes/` folder, named explicitly: a binary built elsewhere cannot find it by itself.
    static let themes = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("themes").path

    /// - Parameter until: what else the screen must show; a frame is drawn top to bottom, so a capture may hold its
    ///   groups before its last line.
    func screen(
        theme: String, environment extra: [String: String] = [:],
        until: @escaping @Sendable (String) -> Bool = { _ in true }
    ) async throws -> (text: String, styled: String) {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        // Tall enough for all five groups of the demo at once.
        let tmux = try Tmux(
            height: 60, environment: sandbox.environment.merging(extra) { $1 }, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo --themes \(Self.themes) --theme \(theme)", "Enter")
        let text = try await tmux.wait(timeout: 20) { $0.contains("Workspace") && $0.contains("Bot") && until($0) }
        let styled = try tmux.captureWithStyles()
        try tmux.send("q")
        return (text, styled)
    }

    @Test func everyShippedThemeDrawsTheDashboardInItsOwnStyles() async throws {
        var seen: [String: Set<String>] = [:]
        for theme in ["default", "light", "high-contrast", "monochrome"] {
            let (text, styled) = try await screen(theme: theme)
            for header in ["User", "Org", "Delegated", "Workspace", "Bot", "healthy"] {
                #expect(text.contains(header), "\(theme): \(header) missing:\n\(text)")
            }
            let styles = Self.styles(styled)
            #expect(!styles.isEmpty, "\(theme): no attributes at all")
            let coloured = styles.filter(Self.setsColour)
            if theme == "monochrome" {
                #expect(coloured.isEmpty, "monochrome drew colours: \(coloured.sorted())")
            } else {
                #expect(!coloured.isEmpty, "\(theme) drew no colour")
            }
            seen[theme] = styles
        }
        // Four themes, four different looks.
        #expect(Set(seen.values).count == 4, "themes look alike: \(seen)")
    }

    @Test func noColorWinsOverAColourTheme() async throws {
        let (_, styled) = try await screen(theme: "high-contrast", environment: ["NO_COLOR": "1"])
        #expect(Self.styles(styled).filter(Self.setsColour).isEmpty)
    }

    @Test func aBrokenUserThemeNamesItsLineAndRoleAndTheDashboardStillOpens() async throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("ttc-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(
            at: config.appendingPathComponent("tokentop/themes"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: config) }
        try "header = default\nstatus.healthy = grene\n".write(
            to: config.appendingPathComponent("tokentop/themes/mine.theme"), atomically: true, encoding: .utf8)
        let (text, _) = try await screen(theme: "mine", environment: ["XDG_CONFIG_HOME": config.path]) {
            $0.contains("mine.theme")
        }
        #expect(text.contains("mine.theme:2: status.healthy: unknown colour 'grene'"), "\(text)")
        #expect(text.contains("Workspace"))
    }

    @Test func aThemeLineWithEscapeSequencesReachesStandardErrorCleaned() async throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let themes = sandbox.root.appendingPathComponent("config/tokentop/themes")
        try FileManager.default.createDirectory(at: themes, withIntermediateDirectories: true)
        try Data("\u{1B}]0;pwned\u{07}\u{1B}[31mevil = red\n".utf8).write(
            to: themes.appendingPathComponent("evil.theme"))
        let errors = sandbox.root.appendingPathComponent("stderr.txt")
        let tmux = try Tmux(height: 60, environment: sandbox.environment, directory: sandbox.root)
        try tmux.send("\(Binary.path) demo --theme evil 2>\(errors.path)", "Enter")
        let screen = try await tmux.wait(timeout: 20) { $0.contains("Workspace") }
        #expect(screen.contains("evil.theme:1: unknown"), "\(screen)")
        try tmux.send("q")
        // Standard error is held while the dashboard runs and written once the terminal is restored.
        let deadline = Date().addingTimeInterval(20)
        var written = Data()
        while Date() < deadline {
            written = (try? Data(contentsOf: errors)) ?? Data()
            if String(decoding: written, as: UTF8.self).contains("built-in default theme was used") { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.contains("evil.theme:1:") && text.contains("unknown role"), "\(text)")
        #expect(!written.contains(0x1B) && !written.contains(0x07), "\(text.debugDescription)")
        // The role is no plain word, so it is not repeated at all.
        #expect(text.contains("unknown role (not repeated here"), "\(text.debugDescription)")
        #expect(!text.contains("pwned"), "\(text.debugDescription)")
    }
}
