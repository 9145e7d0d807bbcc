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

/// Where the fuzz inputs live: `fuzz/` at the package root.
enum FuzzInputs {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("fuzz")
}
