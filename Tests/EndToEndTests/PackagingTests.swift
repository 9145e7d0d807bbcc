import Foundation
import Testing

/// The help, the man page, the shell completions and `make install` tell the same story.
@Suite(.serialized)
struct PackagingTests {
    static let root = OAuthServerFixture.packageRoot

    static func file(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The command names and option flags `tokentop --help` lists.
    static func helpNames() throws -> (commands: [String], options: [String]) {
        let help = try Binary.run(["--help"]).stdout
        let usage = help.components(separatedBy: "\nOptions:")[0]
        var commands = ["dashboard"]
        for line in usage.split(separator: "\n") where line.hasPrefix("  tokentop ") {
            let word = line.dropFirst("  tokentop ".count).split(separator: " ").first.map(String.init) ?? ""
            if !word.hasPrefix("-"), !word.hasPrefix("["), !commands.contains(word) { commands.append(word) }
        }
        let options = help.components(separatedBy: "\nOptions:")[1].components(separatedBy: "\nEnvironment:")[0]
            .split(separator: "\n").compactMap { line -> String? in
                let trimmed = line.drop { $0 == " " }
                return trimmed.hasPrefix("--") ? String(trimmed.split(separator: " ")[0]) : nil
            }
        return (commands, options)
    }

    @Test func theManPageIsTheOneTheBinaryWrites() throws {
        let run = try Binary.run(["help", "--roff"])
        #expect(run.status == 0)
        // Regenerate with: tokentop help --roff > doc/tokentop.1
        #expect(run.stdout == (try Self.file("doc/tokentop.1")), "doc/tokentop.1 is stale")
    }

    @Test func everyCommandHasHelpAndEveryCompletionKnowsEveryCommandAndOption() throws {
        let (commands, options) = try Self.helpNames()
        #expect(commands.count >= 16, "\(commands)")
        #expect(options.contains("--on-event-timeout") && options.contains("--workspace"))
        let man = try Self.file("doc/tokentop.1")
        for command in commands {
            let help = try Binary.run(["help", command])
            #expect(help.status == 0, "help \(command): \(help.stderr)")
            #expect(help.stdout.hasPrefix("Usage: tokentop"), "\(help.stdout)")
        }
        for name in ["completions/tokentop.bash", "completions/_tokentop", "completions/tokentop.fish"] {
            let text = try Self.file(name)
            for command in commands { #expect(text.contains(command), "\(name) lacks the command \(command)") }
            for option in options {
                // zsh and fish spell a long option without its dashes in places; the name is what must be there.
                #expect(text.contains(String(option.dropFirst(2))), "\(name) lacks \(option)")
            }
        }
        for option in options { #expect(man.contains(option.replacingOccurrences(of: "-", with: "\\-"))) }
        let unknown = try Binary.run(["help", "lsit"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("tokentop: no command 'lsit'; commands are dashboard, demo, list"))
    }

    @Test func bashCompletesCommandsScopesAndOptions() throws {
        func complete(_ words: [String]) throws -> [String] {
            let quoted = words.map { "'\($0)'" }.joined(separator: " ")
            let script = """
                source '\(Self.root.appendingPathComponent("completions/tokentop.bash").path)'
                COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1); _tokentop; printf '%s\\n' "${COMPREPLY[@]}"
                """
            let run = try Binary.run(executable: "/bin/bash", ["--norc", "-c", script])
            #expect(run.status == 0, "\(run.stderr)")
            return run.stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["tokentop", "li"]) == ["list"])
        #expect(try complete(["tokentop", "list", "--scope", "de"]) == ["delegated"])
        #expect(try complete(["tokentop", "daemon", "--on-e"]).sorted() == ["--on-event", "--on-event-timeout"])
        #expect(try complete(["tokentop", "--theme", "h"]) == ["high-contrast"])
        #expect(try complete(["tokentop", "status", "--l"]) == ["--lead"])
    }

    @Test func makeInstallPutsEverythingWhereTheBinaryAndTheShellsFindIt() async throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("tt-prefix-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let install = try Binary.run(
            executable: "/usr/bin/make",
            ["-C", Self.root.path, "install", "PREFIX=\(prefix)", "TOKENTOP_BIN=\(Binary.path)"])
        #expect(install.status == 0, "\(install.stderr)")
        let expected = [
            "bin/tokentop", "share/man/man1/tokentop.1", "share/tokentop/themes/default.theme",
            "share/tokentop/themes/light.theme", "share/tokentop/themes/high-contrast.theme",
            "share/tokentop/themes/monochrome.theme", "share/bash-completion/completions/tokentop",
            "share/zsh/site-functions/_tokentop", "share/fish/vendor_completions.d/tokentop.fish",
            "lib/systemd/system/tokentop.service", "lib/sysusers.d/tokentop.conf",
        ]
        for path in expected {
            #expect(FileManager.default.fileExists(atPath: "\(prefix)/\(path)"), "\(path) not installed")
        }
        let unit = try String(contentsOfFile: "\(prefix)/lib/systemd/system/tokentop.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(prefix)/bin/tokentop daemon"))
        // The unit runs as a user that `make install` declares, and says how to create it where it was installed.
        #expect(unit.contains("\nUser=tokentop\n") && unit.contains("\nGroup=tokentop\n"))
        #expect(unit.contains("systemd-sysusers \(prefix)/lib/sysusers.d/tokentop.conf"), "\(unit)")
        let sysusers = "\(prefix)/lib/sysusers.d/tokentop.conf"
        #expect(try String(contentsOfFile: sysusers, encoding: .utf8).contains("\nu tokentop - "))
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-sysusers") {
            // Read by systemd's own parser against an empty root, where it would create the user and its group.
            let root = "\(prefix)/sysusers-root"
            try FileManager.default.createDirectory(atPath: "\(root)/etc", withIntermediateDirectories: true)
            let dry = try Binary.run(
                executable: "/usr/bin/systemd-sysusers", ["--dry-run", "--root=\(root)", sysusers])
            #expect(dry.status == 0, "\(dry.stderr)")
            #expect(dry.stderr.contains("Creating user 'tokentop'"), "\(dry.stderr)")
            try FileManager.default.removeItem(atPath: root)
        }
        let version = try Binary.run(executable: "\(prefix)/bin/tokentop", ["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("tokentop "))

        // The installed binary finds the installed themes by itself, started by name through PATH from a folder
        // with a planted `themes/` above it: the planted files are never read, the installed ones are.
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let plant = sandbox.root.appendingPathComponent("plant")
        let cwd = plant.appendingPathComponent("a/b")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            at: plant.appendingPathComponent("themes"), withIntermediateDirectories: true)
        for name in ["default", "planted", "high-contrast"] {
            try Data("planted.\(name) = red\n".utf8).write(to: plant.appendingPathComponent("themes/\(name).theme"))
        }
        var environment = sandbox.environment
        environment["PATH"] = "\(prefix)/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let planted = try Binary.run(
            executable: "/usr/bin/env", ["tokentop", "--theme", "planted"], environment: environment, directory: cwd)
        #expect(planted.status == 1)
        #expect(
            planted.stderr == "tokentop: \(prefix)/share/tokentop/themes/planted.theme: no theme named 'planted': "
                + "the file does not exist; themes there: default, high-contrast, light, monochrome\n")
        let tmux = try Tmux(height: 60, environment: environment, directory: sandbox.root)
        for theme in ["default", "high-contrast"] {
            try tmux.send("cd \(cwd.path) && clear && tokentop demo --theme \(theme)", "Enter")
            let screen = try await tmux.wait(timeout: 20) { $0.contains("Workspace") }
            #expect(screen.contains("Workspace"), "\(screen)")
            // A planted file would have been loaded and refused for its unknown role, on screen.
            #expect(!screen.contains("planted"), "\(screen)")
            try tmux.send("q")
            _ = try await tmux.wait(timeout: 20) { $0.contains("tt$ ") && !$0.contains("Workspace") }
        }

        let uninstall = try Binary.run(
            executable: "/usr/bin/make", ["-C", Self.root.path, "uninstall", "PREFIX=\(prefix)"])
        #expect(uninstall.status == 0, "\(uninstall.stderr)")
        for path in expected { #expect(!FileManager.default.fileExists(atPath: "\(prefix)/\(path)"), "\(path) left") }
    }
}
