import Foundation
import Testing

@testable import TokentopTUI

@Suite struct ThemeTests {
    static let themesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes").path

    @Test func embeddedDefaultMatchesTheFile() throws {
        let file = try String(contentsOfFile: Self.themesDirectory + "/default.theme", encoding: .utf8)
        #expect(file == ShippedThemes.texts["default"])
    }

    @Test(arguments: ["light", "high-contrast", "monochrome"])
    func everyShippedThemeIsBuiltInAsItsFileSays(name: String) throws {
        let file = try String(contentsOfFile: Self.themesDirectory + "/\(name).theme", encoding: .utf8)
        #expect(ShippedThemes.texts[name] == file, "regenerate ShippedThemes.swift from themes/\(name).theme")
        // Without a themes folder the built-in copy serves, exactly as the file would.
        let fromFile = try Theme.load(name: name, directory: Self.themesDirectory, environment: [:])
        let builtIn = try Theme.load(name: name, directory: nil, environment: [:])
        #expect(fromFile.styles == builtIn.styles)
    }

    @Test func builtInThemeSetsEveryRole() throws {
        let parsed = try Theme.parse(ShippedThemes.texts["default"]!, file: "default.theme", base: Theme(styles: [:]))
        for role in ThemeRole.all {
            #expect(parsed.styles[role] != nil, "default.theme leaves out \(role)")
        }
        #expect(parsed[.status(.needsReauth)] == Style(foreground: .indexed(1), attributes: [.bold]))
        #expect(parsed[.cursor] == Style(foreground: .indexed(0), background: .indexed(6)))
    }

    @Test(arguments: ["default", "monochrome", "light", "high-contrast"])
    func shippedThemesLoad(name: String) throws {
        let theme = try Theme.load(name: name, directory: Self.themesDirectory, environment: [:])
        #expect(theme.styles.count == ThemeRole.all.count)
    }

    @Test func noColorThemeHasNoColours() throws {
        let theme = try Theme.load(name: "default", directory: Self.themesDirectory, environment: ["NO_COLOR": "1"])
        #expect(!theme.usesColor)
        for role in ThemeRole.all {
            #expect(theme[role].foreground == .terminalDefault)
            #expect(theme[role].background == .terminalDefault)
        }
        // Bars and the cursor keep showing, in reverse video; bold stays bold.
        #expect(theme[.cursor].attributes.contains(.reverse))
        #expect(theme[.tableHeader].attributes.contains(.reverse))
        #expect(theme[.status(.failing)].attributes == [.bold])
    }

    @Test func emptyNoColorKeepsColours() throws {
        let theme = try Theme.load(name: "default", directory: nil, environment: ["NO_COLOR": ""])
        #expect(theme.usesColor)
    }

    @Test func noColorScreenDrawsNoColour() {
        let harness = Fixtures.harness(environment: ["NO_COLOR": "1"])
        harness.frame()
        #expect(harness.screen.stylesInUse.allSatisfy { !$0.hasColor })
        #expect(harness.screen.stylesInUse.contains { $0.attributes.contains(.reverse) })
    }

    @Test func fileOverridesOnlyTheRolesItNames() throws {
        let theme = try Theme.parse("status.failing = magenta default underline\n", file: "mine.theme")
        #expect(theme[.status(.failing)] == Style(foreground: .indexed(5), attributes: [.underline]))
        #expect(theme[.cursor] == Theme.builtIn[.cursor])
    }

    @Test func readsColourForms() throws {
        let text = """
            # comment line
            header = bright-white 236 bold reverse   # trailing comment
            row = 208
            error = RED none
            """
        let theme = try Theme.parse(text, file: "forms.theme")
        #expect(
            theme[.header] == Style(foreground: .indexed(15), background: .indexed(236), attributes: [.bold, .reverse]))
        #expect(theme[.row] == Style(foreground: .indexed(208)))
        #expect(theme[.error] == Style(foreground: .indexed(1)))
    }

    @Test(
        arguments: [
            ("header = default default\nrow = purpel default\n", 2, "unknown colour 'purpel'"),
            ("\n\nstatus.fine = green default\n", 3, "unknown role 'status.fine'"),
            ("header default bold\n", 1, "expected 'role = foreground"),
            ("row = green default blink\n", 1, "unknown colour or attribute 'blink'"),
            ("row =\n", 1, "missing a foreground colour"),
            ("row = 256\n", 1, "unknown colour '256'"),
            ("row = red\n# again\nrow = blue\n", 3, "role 'row' is already set on line 1"),
        ] as [(String, Int, String)])
    func parseErrorsNameTheLine(text: String, line: Int, message: String) {
        #expect {
            try Theme.parse(text, file: "bad.theme")
        } throws: { error in
            guard let error = error as? ThemeError else { return false }
            return error.line == line && error.message.contains(message)
                && error.description.hasPrefix("bad.theme:\(line): ")
        }
    }

    /// A word that is not plainly one a person typed for a role, a colour or an attribute is not repeated: a
    /// theme file may be a link to the key file, or hold a line a secret was pasted into.
    @Test(
        arguments: [
            ("ZmFrZS1rZXktMDAwMS1ub3QtYS1yZWFsLWtleS0wMDA=\n", "unknown role (not repeated here"),
            ("row = fake-secret-0001-not-a-colour\n", "row: unknown colour (not repeated here"),
            ("row = Fake9Secret\n", "row: unknown colour (not repeated here"),
            ("row = red default fakesecret0001\n", "row: unknown colour or attribute (not repeated here"),
            ("fake_key_0001 = red\n", "unknown role (not repeated here"),
        ] as [(String, String)])
    func anUnknownWordThatIsNoPlainWordIsNotRepeated(text: String, message: String) {
        #expect {
            try Theme.parse(text, file: "bad.theme")
        } throws: { error in
            guard let error = error as? ThemeError else { return false }
            let line = text.split(separator: "\n")[0]
            let secret = line.split(separator: " ").last { $0 != "=" && $0 != "red" && $0 != "default" } ?? ""
            return error.line == 1 && error.message.hasPrefix(message) && !error.description.contains(secret)
        }
    }

    /// A theme file that is the key file, by a link, is refused before it is read, and the dashboard does not open
    /// on it; a pipe would never end, and no theme is larger than 64 KiB.
    @Test func aThemeThatIsTheKeyFileAPipeOrTooLargeIsRefusedUnread() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-themes-\(UUID())").path
        let config = root + "/config"
        try FileManager.default.createDirectory(atPath: config + "/tokentop", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/themes", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try "ZmFrZS1rZXktMDAwMS1ub3QtYS1yZWFsLWtleS0wMDA=\n".write(
            toFile: config + "/tokentop/key", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/themes/key.theme", withDestinationPath: config + "/tokentop/key")
        #expect(mkfifo(root + "/themes/pipe.theme", 0o600) == 0)
        try Data(repeating: UInt8(ascii: "#"), count: 64 << 10 + 1).write(
            to: URL(fileURLWithPath: root + "/themes/big.theme"))
        let environment = ["XDG_CONFIG_HOME": config]
        for (name, message) in [
            ("key", "refusing to read the key file as a theme"), ("pipe", "not a regular file"),
            ("big", "larger than 64 KiB"),
        ] {
            #expect {
                try Theme.loadFallingBack(name: name, directory: root + "/themes", environment: environment)
            } throws: { error in
                guard let error = error as? ThemeError else { return false }
                return error.line == nil && error.file == root + "/themes/\(name).theme"
                    && error.message.hasPrefix(message) && !error.description.contains("ZmFrZS")
            }
        }
    }

    @Test func missingThemeIsAnErrorButMissingDefaultIsNot() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-themes-\(UUID())").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let theme = try Theme.load(name: "default", directory: empty, environment: [:])
        #expect(theme[.cursor] == Theme.builtIn[.cursor])
        #expect(throws: ThemeError.self) { try Theme.load(name: "solarized", directory: empty, environment: [:]) }
        #expect(throws: ThemeError.self) { try Theme.load(name: "../etc/passwd", directory: empty, environment: [:]) }
    }

    @Test func monochromeLoadsFromTheThemesDirectory() throws {
        let theme = try Theme.load(name: "monochrome", directory: Self.themesDirectory, environment: [:])
        #expect(!theme.usesColor)
        #expect(theme[.cursor] == Style(attributes: [.reverse]))
        #expect(theme[.status(.needsReauth)] == Style(attributes: [.bold, .reverse]))
        #expect(theme[.status(.revoked)] == Style(attributes: [.dim]))
    }

    @Test func anUnknownThemeNamesThePathItLookedForAndWhatIsThere() {
        #expect {
            try Theme.load(name: "solarized", directory: Self.themesDirectory, environment: [:])
        } throws: { error in
            guard let error = error as? ThemeError else { return false }
            return error.file == Self.themesDirectory + "/solarized.theme" && error.line == nil
                && error.message == "no theme named 'solarized': the file does not exist; "
                    + "themes there: default, high-contrast, light, monochrome"
        }
    }

    @Test(arguments: ["default", "monochrome", "light", "high-contrast"])
    func aThemesDirectoryThatDoesNotExistIsAnError(name: String) {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-themes-\(UUID())").path
        #expect {
            try Theme.load(name: name, directory: missing, environment: [:])
        } throws: { error in
            guard let error = error as? ThemeError else { return false }
            return error.file == missing
                && error.description
                    == "\(missing): the themes directory does not exist, so \(name).theme cannot be loaded from it; "
                    + "name an existing directory with --themes DIR"
        }
    }

    @Test func withoutAThemesDirectoryTheShippedThemesAreBuiltIn() throws {
        let theme = try Theme.load(name: "default", directory: nil, environment: [:])
        #expect(theme[.cursor] == Theme.builtIn[.cursor])
        #expect(theme.styles.count == ThemeRole.all.count)
        #expect(try Theme.load(name: "monochrome", directory: nil, environment: [:])[.cursor].attributes == [.reverse])
        #expect {
            try Theme.load(name: "solarized", directory: nil, environment: [:])
        } throws: { error in
            (error as? ThemeError)?.description
                == "solarized.theme: no theme named 'solarized': no themes directory was found to look for "
                + "solarized.theme in; name one with --themes DIR, or use 'default'"
        }
    }

    @Test func runDashboardLoadsTheNamedThemeBeforeTheTerminal() {
        let backend = TestBackend(snapshot: Fixtures.snapshot())
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-themes-\(UUID())").path
        #expect {
            try runDashboard(backend: backend, themesDirectory: missing, themeName: "monochrome", maxIterations: 1)
        } throws: { error in
            (error as? ThemeError)?.file == missing
        }
    }

    @Test func badFileInThemesDirectoryNamesItsPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-themes-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "header = default\ncursor = black cyn\n".write(
            toFile: directory + "/default.theme", atomically: true, encoding: .utf8)
        #expect {
            try Theme.load(name: "default", directory: directory, environment: [:])
        } throws: { error in
            let expected = directory + "/default.theme:2: cursor: unknown colour or attribute 'cyn'"
            return (error as? ThemeError)?.description.hasPrefix(expected) == true
        }
    }

    @Test func aBrokenThemeFileGivesWayToTheDefaultAndSaysWhichLineAndRole() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-themes-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "header = default\n\nstatus.failing = orange\n".write(
            toFile: directory + "/mine.theme", atomically: true, encoding: .utf8)
        let (theme, warning) = try Theme.loadFallingBack(name: "mine", directory: directory, environment: [:])
        #expect(theme[.cursor] == Theme.builtIn[.cursor])
        #expect(theme[.status(.failing)] == Theme.builtIn[.status(.failing)])
        #expect(warning?.line == 3)
        #expect(warning?.description.hasPrefix(directory + "/mine.theme:3: status.failing: unknown colour 'orange'") == true)
        // A theme that is not there at all is still an error: a typo in --theme should not pass unnoticed.
        #expect(throws: ThemeError.self) {
            try Theme.loadFallingBack(name: "mien", directory: directory, environment: [:])
        }
    }

    @Test func aThemeFileThatIsNotUTF8NamesItsLineAndGivesWay() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-themes-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("header = default\nrow = red\n".utf8 + [0xFF, 0xFE, 0x0A]).write(
            to: URL(fileURLWithPath: directory + "/bin.theme"))
        let (theme, warning) = try Theme.loadFallingBack(name: "bin", directory: directory, environment: [:])
        #expect(theme[.row] == Theme.builtIn[.row])
        #expect(warning?.description == directory + "/bin.theme:3: not UTF-8 text; save the file as UTF-8")
    }

    @Test func aUserThemeInTheConfigDirectoryOverridesTheShippedOne() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("tokentop-config-\(UUID())").path
        try FileManager.default.createDirectory(atPath: config + "/tokentop/themes", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "cursor = black yellow\n".write(
            toFile: config + "/tokentop/themes/light.theme", atomically: true, encoding: .utf8)
        let environment = ["XDG_CONFIG_HOME": config]
        let theme = try Theme.load(name: "light", directory: Self.themesDirectory, environment: environment)
        #expect(theme[.cursor] == Style(foreground: .indexed(0), background: .indexed(3)))
        // Themes the user has no file for still come from the shipped folder.
        let shipped = try Theme.load(name: "monochrome", directory: Self.themesDirectory, environment: environment)
        #expect(shipped[.cursor] == Style(attributes: [.reverse]))
        // NO_COLOR still wins over the user's colours.
        let plain = try Theme.load(
            name: "light", directory: Self.themesDirectory, environment: environment.merging(["NO_COLOR": "1"]) { $1 })
        #expect(!plain.usesColor)
    }

    @Test func everyShippedThemeSetsEveryRoleAndTellsStatusesApart() throws {
        for name in ["default", "light", "high-contrast", "monochrome"] {
            let text = try String(contentsOfFile: Self.themesDirectory + "/\(name).theme", encoding: .utf8)
            let parsed = try Theme.parse(text, file: "\(name).theme", base: Theme(styles: [:]))
            for role in ThemeRole.all {
                #expect(parsed.styles[role] != nil, "\(name).theme leaves out \(role)")
            }
            // Trouble must not look like health: the styles of the two ends of the scale differ.
            #expect(parsed[.status(.healthy)] != parsed[.status(.needsReauth)], "\(name)")
            #expect(parsed[.cursor] != parsed[.row], "\(name)")
        }
    }
}
