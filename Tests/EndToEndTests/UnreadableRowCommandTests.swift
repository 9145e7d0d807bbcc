import Foundation
import Testing

/// A row edited by hand into something this tokentop cannot read: the commands show the rest of the fleet, name
/// the row and say the list is not whole; asked for by name, it is refused with the reason; importing it again
/// repairs it.
struct UnreadableRowCommandTests {
    @Test func theCommandsShowTheRestNameTheRowAndAReimportRepairsIt() throws {
        let sandbox = try Sandbox()
        defer { sandbox.remove() }
        let file = try sandbox.write("import.json", CommandLineTests.importFile)
        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        _ = try DatabaseFaultTests.sqlite(
            sandbox.database, "UPDATE connections SET scope = 'galaxy' WHERE id = 'acme-key'")
        let left = "tokentop: 1 stored connection cannot be read, left out and not refreshed (`tokentop show ID` "
            + "says why): acme-key\n"

        let list = try Binary.run(["list"], environment: sandbox.environment)
        #expect(list.status == 1)
        #expect(list.stdout.contains("acme-alice") && !list.stdout.contains("acme-key"), "\(list.stdout)")
        #expect(list.stderr == left)
        let json = try Binary.run(["list", "--json"], environment: sandbox.environment)
        #expect(json.status == 1 && json.stderr == left)
        let rows = try #require(try JSONSerialization.jsonObject(with: json.output) as? [[String: Any]])
        #expect(rows.compactMap { $0["id"] as? String } == ["acme-alice"])

        let critical = try Binary.run(["status"], environment: sandbox.environment)
        #expect(critical.status == 2)
        #expect(critical.stdout.hasPrefix("CRITICAL: 1 connection: 1 healthy; 1 stored connection cannot be read"))

        for command in [["show", "acme-key"], ["refresh", "acme-key"]] {
            let refused = try Binary.run(command, environment: sandbox.environment)
            #expect(refused.status == 1, "\(command): \(refused.stderr)")
            #expect(
                refused.stderr.hasPrefix(
                    "tokentop: acme-key cannot be read: the database \(sandbox.database) holds data tokentop cannot "
                        + "read: the scope of connection acme-key is \"galaxy\", which this tokentop does not know"),
                "\(command): \(refused.stderr)")
        }

        // An export of it would never restore: refused, and no file written.
        let target = sandbox.root.appendingPathComponent("backup.json").path
        let export = try Binary.run(["export", target], environment: sandbox.environment)
        #expect(export.status == 1 && export.stderr.hasPrefix("tokentop: cannot export "), "\(export.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        let delete = try Binary.run(["delete", "acme-key"], environment: sandbox.environment)
        #expect(delete.status == 1, "\(delete.stderr)")
        #expect(delete.stderr.contains("its row cannot be read, so it cannot be revoked"), "\(delete.stderr)")
        let reauth = try Binary.run(["reauth", "acme-key", "--no-browser"], environment: sandbox.environment)
        #expect(reauth.status == 1, "\(reauth.stderr)")
        #expect(reauth.stderr.hasPrefix("tokentop: acme-key cannot be read: "), "\(reauth.stderr)")

        #expect(try Binary.run(["import", file], environment: sandbox.environment).status == 0)
        let repaired = try Binary.run(["list"], environment: sandbox.environment)
        #expect(repaired.status == 0 && repaired.stderr.isEmpty, "\(repaired.stderr)")
        #expect(repaired.stdout.contains("acme-key"))

        // A history entry of a kind this tokentop does not know (a newer version wrote it): left out, and said.
        _ = try DatabaseFaultTests.sqlite(
            sandbox.database, "UPDATE history SET kind = 'teleported' WHERE connection_id = 'acme-alice'")
        let show = try Binary.run(["show", "acme-alice"], environment: sandbox.environment)
        #expect(show.status == 0 && show.stdout.contains("alice@example.com"), "\(show.stderr)")
        #expect(
            show.stderr.hasPrefix(
                "tokentop: 2 entries of acme-alice's history cannot be read and are left out: the database "),
            "\(show.stderr)")
        #expect(show.stderr.contains("the history kind of connection acme-alice is \"teleported\""))
        let status = try Binary.run(["status"], environment: sandbox.environment)
        #expect(status.status == 0, "\(status.stdout)")
    }
}
