import Foundation
import Testing

@testable import TokentopCore

/// Every input kept under `fuzz/` (the hand-written seeds, and each input a fuzzer crashed on, which
/// `scripts/fuzz` copies into `fuzz/regressions/`) goes through the parser it was found with, and must keep the
/// promises the fuzzers check.
struct FuzzRegressionTests {
    /// The names of the files under `fuzz/corpus/target` and `fuzz/regressions/target`, dotfiles left out.
    static func inputs(_ target: String) -> [String] {
        ["corpus", "regressions"].flatMap { folder in
            let directory = FuzzInputs.root.appendingPathComponent("\(folder)/\(target)")
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\(target)/\($0)" }
        }
    }

    @Test func theSeedCorporaAreThere() {
        #expect(Self.inputs("token-response").count >= 10)
        #expect(Self.inputs("import-file").count >= 3)
        #expect(Self.inputs("config-file").count >= 9)
    }

    @Test(arguments: inputs("token-response"))
    func tokenResponse(_ name: String) throws {
        let body = try Data(contentsOf: FuzzInputs.root.appendingPathComponent(name))
        for response in TokenResponseFuzzCases.responses(body) {
            let problem = TokenResponseFuzzCases.check(
                TokenResponseParser.parse(response, now: TokenResponseFuzzCases.now))
            #expect(problem == nil, "HTTP \(response.status), \(response.headers["content-type"] ?? "no type")")
        }
        let firstLine = String(decoding: body.prefix(64).prefix { $0 != 0x0a }, as: UTF8.self)
        let delay = TokenResponseParser.parseRetryAfter(firstLine)
        #expect(delay.map { !$0.isNaN && $0 >= 0 } ?? true)
    }

    @Test(arguments: inputs("import-file"))
    func importFile(_ name: String) throws {
        let data = try Data(contentsOf: FuzzInputs.root.appendingPathComponent(name))
        do {
            _ = try ImportFile.parse(data, source: name)
        } catch is ImportError {
            // A clear refusal is a fine outcome; only a crash or another kind of error is not.
        }
    }
}

extension FuzzRegressionTests {
    @Test(arguments: inputs("config-file"))
    func configFile(_ name: String) throws {
        let data = try Data(contentsOf: FuzzInputs.root.appendingPathComponent(name))
        do {
            let settings = try ConfigFile.parse(data, source: name)
            #expect(ConfigFuzzPromises.check(settings) == nil)
        } catch is ConfigError {
            // A clear refusal is a fine outcome; only a crash, another kind of error or a broken promise is not.
        }
    }

    /// The seeds reach both outcomes: the documented example is read whole, and each bad one is refused.
    @Test func theConfigSeedsAreReadAsDocumented() throws {
        let full = try ConfigFile.parse(
            Data(contentsOf: FuzzInputs.root.appendingPathComponent("corpus/config-file/full.json")), source: "full")
        #expect(full.leadSeconds == 120 && full.concurrency == 8 && full.theme == "light")
        #expect(full.keys == ["refresh": "R", "revoke": "X", "copy": "y"])
        // combining-mark: "a" and a combining accent is one Character; the reader once took it for one ASCII key.
        let refused = [
            "out-of-range", "key-twice", "unknown-action", "wrong-types", "not-an-object", "unknown-key",
            "combining-mark",
        ]
        for name in refused {
            let data = try Data(contentsOf: FuzzInputs.root.appendingPathComponent("corpus/config-file/\(name).json"))
            #expect(throws: ConfigError.self, "\(name)") { try ConfigFile.parse(data, source: name) }
        }
    }
}

/// Where the fuzz inputs live: `fuzz/` at the package root.
enum FuzzInputs {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("fuzz")
}
