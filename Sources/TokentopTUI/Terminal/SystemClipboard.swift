import Foundation
import TokentopCore

/// The desktop's clipboard, through the tool that serves it: `wl-copy` under Wayland, `xclip` or `xsel` under
/// X11. Over SSH or on a console there is none, and the terminal's OSC 52 is the way (see ``TerminalClipboard``).
enum SystemClipboard {
    /// The tools, in order of preference, with the display each needs and how to call it.
    private static let tools: [(name: String, display: String, command: String)] = [
        ("wl-copy", "WAYLAND_DISPLAY", "wl-copy"),
        ("xclip", "DISPLAY", "xclip -selection clipboard"),
        ("xsel", "DISPLAY", "xsel --clipboard --input"),
    ]

    /// The first tool whose display is there and which is on the `PATH`.
    static func tool(environment: [String: String]) -> (name: String, command: String)? {
        let path = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for tool in tools where !(environment[tool.display] ?? "").isEmpty {
            if path.contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool.name)") }) {
                return (tool.name, tool.command)
            }
        }
        return nil
    }

    /// Copies `text` with the desktop's tool; the tool's name, or nil when there is none or it failed.
    static func copy(_ text: String, environment: [String: String]) -> String? {
        guard let tool = tool(environment: environment) else { return nil }
        // The command is one of ours above; the text goes on standard input, never on the command line.
        let outcome = HookRunner.run(tool.command, input: Data(text.utf8), timeout: 2)
        return outcome == .exited(0) ? tool.name : nil
    }
}
