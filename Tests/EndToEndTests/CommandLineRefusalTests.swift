import Foundation
import Testing

/// What the command line refuses, and what it does not pretend to have done: each case exits non-zero, says what
/// is wrong and where, and changes nothing.
struct CommandLineRefusalTests {
    /// A sandbox holding ``CommandLineTests/importFile``: acme-alice (user, no sign-in endpoint), acme-key (org).
    static func imported() throws -> Sandbox {
        let sandbox = try Sandbox()
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        let run = try Binary.run(["import", file], environment: sandbox.environment)
        guard run.status == 0 else { throw OAuthServerFixture.Failure("import failed: \(run.stderr)") }
        return sandbox
    }

    /// `reauth` that can only say who must act re-authorized nothing, so `reauth ID && …` must not go on.
    @Test(arguments: [
        (
            "acme-key", "acme-key: nobody needs to act now",
            "acme-key: not re-authorized here: acme-key is an org connection: no user signs in to it here; "
                + "an org admin must grant access again"
        ),
        (
            "acme-alice", "acme-alice: nobody needs to act now",
            "acme-alice: not re-authorized here: integration acme has neither authorization_url nor "
                + "device_authorization_url"
        ),
    ])
    func reauthThatCanOnlyPromptExitsOne(id: String, prompt: String, refusal: String) throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        let run = try Binary.run(["reauth", id], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix(prompt + "\n"), "\(run.stdout)")
        #expect(run.stdout.contains("why: "))
        #expect(run.stderr.hasPrefix("tokentop: " + refusal), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    /// A revoked connection still needs a human; tokentop did not restore it.
    @Test func reauthOfARevokedOrgConnectionExitsOne() throws {
        let sandbox = try Self.imported()
        defer { sandbox.remove() }
        #expect(try Binary.run(["revoke", "acme-key"], environment: sandbox.environment).status == 0)
        let run = try Binary.run(["reauth", "acme-key"], environment: sandbox.environment)
        #expect(run.status == 1)
        #expect(run.stdout.hasPrefix("acme-key: an admin of org:acme must grant access again\n"), "\(run.stdout)")
        #expect(run.stdout.contains("why: the connection was revoked; only a new authorization restores it"))
        #expect(run.stderr.hasPrefix("tokentop: acme-key: not re-authorized here: "), "\(run.stderr)")
    }
}
