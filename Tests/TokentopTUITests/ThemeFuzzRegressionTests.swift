import Foundation
import Testing

@testable import TokentopTUI

/// Every theme input kept under `fuzz/` (seeds and inputs a fuzzer crashed on) and every shipped theme goes
/// through the theme reader: a ``ThemeError`` is a fine outcome, a crash or another error is not.
struct ThemeFuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Paths from the package root of every theme input, dotfiles left out.
    static func inputs() -> [String] {
        ["fuzz/corpus/theme", "fuzz/regressions/theme", "themes"].flatMap { folder in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path))
            return (names ?? []).filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
        }
    }

    @Test func theSeedsAreThere() {
        #expect(Self.inputs().count >= 3)
    }

    @Test(arguments: inputs())
    func themeFile(_ name: String) throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent(name))
        do {
            _ = try Theme.parse(String(decoding: data, as: UTF8.self), file: name)
        } catch is ThemeError {
            // A clear refusal is a fine outcome.
        }
    }
}
