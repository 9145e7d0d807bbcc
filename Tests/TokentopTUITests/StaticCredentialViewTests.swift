import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// Static credentials in the table and the detail view: their age, and what the last probe said.
@Suite struct StaticCredentialViewTests {
    /// The fixtures, with the Stripe key probed and 41 days old, the basic credential's probe failed, and a key the
    /// provider rejected.
    static func snapshot() -> DashboardSnapshot {
        var connections = Fixtures.connections
        for index in connections.indices {
            switch connections[index].id {
            case "stripe-acme":
                connections[index].secretSetAt = Fixtures.at(-41 * 86_400 - 600)
                connections[index].probe = ProbeResult(at: Fixtures.at(-180), ok: true, detail: "HTTP 200")
            case "linear-ws":
                connections[index].secretSetAt = Fixtures.at(-3 * 3_600)
                connections[index].probe = ProbeResult(at: Fixtures.at(-60), ok: false, detail: "HTTP 503")
            default: break
            }
        }
        connections.append(
            Connection(
                id: "stripe-old", integrationID: "stripe-key", scope: .org, subject: "org_old", credential: .apiKey,
                grant: .none, accessFingerprint: "sk_o…11112222",
                reauthReason: "the provider rejected the api_key credential at its probe URL (HTTP 401: expired key)",
                createdAt: Fixtures.at(-86_400 * 900), secretSetAt: Fixtures.at(-86_400 * 800),
                probe: ProbeResult(at: Fixtures.at(-30), ok: false, detail: "HTTP 401: expired key")))
        var snapshot = Fixtures.snapshot(connections: connections)
        var stripe = snapshot.integrations["stripe-key"]!
        stripe.probeURL = URL(string: "https://stripe.example/v1/account")
        stripe.probeInterval = 900
        stripe.apiKeyPlacement = APIKeyPlacement(location: .header, name: "X-Api-Key")
        snapshot.integrations["stripe-key"] = stripe
        return snapshot
    }

    @Test(arguments: [
        ("stripe-acme", ["■ static ✓", "41d old", "never"]),
        ("linear-ws", ["■ static ✗", "3h old"]),
        ("stripe-old", ["! needs-reauth", "2y old"]),
    ])
    func rowsShowAgeAndProbeMark(id: String, expected: [String]) throws {
        let harness = Fixtures.harness(snapshot: Self.snapshot())
        harness.frame()
        let line = try #require(harness.line(containing: " \(id) "))
        for text in expected { #expect(line.contains(text), "\(id): '\(text)' missing from '\(line)'") }
    }

    @Test func aFailedProbeIsMarkedInTheFailingStyle() throws {
        let harness = Fixtures.harness(snapshot: Self.snapshot())
        let lines = harness.frame()
        let row = try #require(lines.firstIndex { $0.contains(" linear-ws ") })
        let column = try #require(lines[row].range(of: "✗")).lowerBound.utf16Offset(in: lines[row])
        #expect(harness.screen.style(row: row, column: column) == Theme.builtIn[.status(.failing)])
    }

    @Test func eightyColumnsKeepTheAgeWhole() throws {
        let harness = Fixtures.harness(columns: 80, rows: 30, snapshot: Self.snapshot())
        harness.frame()
        #expect(try #require(harness.line(containing: " stripe-acme ")).contains(" 41d old "))
    }

    @Test func detailSaysHowOldTheKeyIsAndWhatTheProbeSaid() throws {
        let harness = Fixtures.harness(snapshot: Self.snapshot())
        harness.frame()
        let lines = harness.press(.down, .down, .down, .enter)
        #expect(harness.dashboard.view == .detail(id: "stripe-acme"))
        let text = lines.joined(separator: "\n")
        #expect(text.contains("Static credential"))
        #expect(text.contains("(set 41 days ago)"))
        #expect(text.contains("sent as             header X-Api-Key"))
        #expect(text.contains("probe URL           https://stripe.example/v1/account, every 15m00s"))
        #expect(text.contains("last probe          ✓ ok: HTTP 200, 3m ago"))
        #expect(text.contains("next probe          in 1"))
    }
}
