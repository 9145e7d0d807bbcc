import Foundation
import Testing

@testable import TokentopCore

/// An audit entry's detail keeps the file paths it is known to name, and masks every other token-like run.
struct AuditDetailTests {
    static let token = "fakeAbCdEf0123456789/GhIjKl+mn=="

    @Test(arguments: [
        // A path the entry names stays, in every place it stands as a whole run.
        (
            "refusing to replace /tmp/tt/config/tokentop/key: it is the key file", ["/tmp/tt/config/tokentop/key"],
            "refusing to replace /tmp/tt/config/tokentop/key: it is the key file"
        ),
        (
            "cannot write the export rel/dir/export-file-name.json (cannot create rel/dir/.export-file-name.json.7.tmp:"
                + " No such file)", ["rel/dir/export-file-name.json", "rel/dir/.export-file-name.json.7.tmp"],
            "cannot write the export rel/dir/export-file-name.json (cannot create rel/dir/.export-file-name.json.7.tmp:"
                + " No such file)"
        ),
        // Any other run is masked, beside a kept path too.
        (
            "/srv/backups/store-export.json: the provider said \(token)", ["/srv/backups/store-export.json"],
            "/srv/backups/store-export.json: the provider said [masked]"
        ),
        // A name inside a longer run is not kept: the run may be a secret that merely contains it.
        ("\(token)", ["/GhIjKl+mn=="], "[masked]"),
        ("x\(token)x", [token], "[masked]"),
        ("/tmp/a-long-export-name.json.bak is here", ["/tmp/a-long-export-name.json"], "[masked] is here"),
        // A one-character name cannot split a secret into short pieces that pass.
        ("echoed \(token) back", ["a", "0", "/"], "echoed [masked] back"),
        ("", ["/tmp/x"], ""),
        // A provider's standard error code stays, with no name given; one inside a longer run does not.
        ("c-1 failed temporarily_unavailable (HTTP 503)", [], "c-1 failed temporarily_unavailable (HTTP 503)"),
        ("said xtemporarily_unavailable", [], "said [masked]"),
        ("g failed installation_suspended (HTTP 403)", [], "g failed installation_suspended (HTTP 403)"),
    ])
    func pathsTheEntryNamesStayAndEverythingElseIsMasked(detail: String, names: [String], expected: String) {
        #expect(AuditDetail.masked(detail, keeping: names) == expected)
    }

    /// Kept paths are whole runs; the mask must agree on what a run is, or a secret could end beside a kept path.
    @Test func theTokenCharactersAreTheMasksOwn() {
        var characters: [Character] = (0x20...0x7E).map { Character(Unicode.Scalar(UInt8($0))) }
        characters += ["é", "ß", "٣", "—", "·", "\u{00A0}", "日", "😀", "\t"]
        for character in characters {
            let run = String(repeating: character, count: 24)
            #expect(
                AuditDetail.isTokenCharacter(character) == (SecretMasking.mask(run) == "[masked]"),
                "\(character.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    /// Through the store: the target and the store's own path stay readable, a secret in the same detail does not.
    @Test func theStoreKeepsTheTargetAndItsOwnPath() throws {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("a-store-with-a-long-name.sqlite3").path
        let store = try Store.open(path: path, secrets: .ephemeral())
        let target = directory.appendingPathComponent("exports/export-of-the-store.json").path
        let entry = try store.appendAudit(
            action: .export, target: target, outcome: "failed",
            detail: "cannot write \(target) of \(path): \(Self.token)", user: "ops", at: Date())
        #expect(entry.detail == "cannot write \(target) of \(path): [masked]")
        let other = try store.appendAudit(
            action: .refresh, target: "acme-alice", outcome: "failed", detail: "\(target) \(Self.token)", user: "ops",
            at: Date())
        #expect(other.detail == "[masked] [masked]", "a path that is not this entry's is masked like any run")
        #expect(try store.verifyAudit().isIntact)
    }
}
