import Foundation
import Testing

/// `tokentop explain [SCOPE]`: the identity models side by side, without a database.
struct ExplainCommandTests {
    @Test func explainPrintsTheTableWithinEightyColumns() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let run = try Binary.run(["explain", "delegated"], environment: sandbox.environment)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines[0].contains("User") && lines[0].contains("[Delegated]") && lines[0].contains("Bot"))
        for words in ["enforces", "Audit log", "Sign-ins to", "Blast", "renewed", "re-auth", "Examples"] {
            #expect(run.stdout.contains(words), "no \(words) in:\n\(run.stdout)")
        }
        // Reading the facts needs no database and creates none.
        #expect(!FileManager.default.fileExists(atPath: sandbox.database))
        let plain = try Binary.run(["explain"], environment: sandbox.environment)
        #expect(plain.status == 0)
        #expect(plain.stdout.hasPrefix("            User         Org          Delegated    Workspace    Bot\n"))
    }

    @Test(arguments: [
        (["explain", "team"], "unknown scope 'team'; use one of user, org, delegated, workspace, bot"),
        (["explain", "user", "org"], "'explain' takes at most one scope"),
        (["explain", "--json"], "--json does not apply to 'explain'"),
    ])
    func badExplainLinesExitTwo(arguments: [String], message: String) throws {
        let run = try Binary.run(arguments)
        #expect(run.status == 2)
        #expect(run.stderr.contains(message), "\(run.stderr)")
    }
}
