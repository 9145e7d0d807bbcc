import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

/// The explainer (`i`): the selected connection's identity model beside the other four, on the in-memory screen.
@Suite struct ExplainViewTests {
    @Test func iOpensTheExplainerForTheCursorRowAndEscCloses() throws {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.character("i"))
        #expect(harness.dashboard.view == .explain(id: "gh-alice"))
        #expect(lines[2].hasPrefix(" Identity models · gh-alice is User (oauth2, refresh_token)"))
        let headings = lines[3]
        let order = ["[User]", "Org", "Delegated", "Workspace", "Bot"].map { headings.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil }, "headings: \(headings)")
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
        for label in ["Who enforces", "Audit log", "Sign-ins to", "Blast radius", "What re-auth", "Examples"] {
            #expect(lines.contains { $0.hasPrefix(" \(label)") }, "no row labelled \(label)")
        }
        #expect(harness.line(containing: "q/Esc back") != nil)
        harness.press(.escape)
        #expect(harness.dashboard.view == .list)
        harness.press(.character("i"), .character("q"))
        #expect(harness.dashboard.view == .list)
        #expect(!harness.dashboard.shouldQuit)
    }

    @Test func theSelectedModelIsMarkedByTextAndStyle() throws {
        let harness = Fixtures.harness()
        harness.frame()
        let lines = harness.press(.down, .down, .down, .character("i"))
        #expect(lines[2].contains("stripe-acme is Org (api_key, none)"))
        #expect(lines[3].contains("[Org]") && !lines[3].contains("[User]"))
        let headingColumn = try #require(lines[3].range(of: "[Org]")).lowerBound.utf16Offset(in: lines[3])
        #expect(harness.screen.style(row: 3, column: headingColumn) == Theme.builtIn[.cursor])
        // The Org column's cells are in the marked style, the others in the plain row style.
        let widths = IdentityModelFacts.columnWidths(width: 119)
        let orgColumn = 1 + widths.label + 1 + widths.model + 1
        let userColumn = 1 + widths.label + 1
        #expect(harness.screen.style(row: 4, column: orgColumn) == Theme.builtIn[.marked])
        #expect(harness.screen.style(row: 4, column: userColumn) == Theme.builtIn[.row])
    }

    @Test func atEightyColumnsTheTableWrapsAndScrolls() throws {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        var lines = harness.press(.character("i"))
        #expect(lines.allSatisfy { $0.displayWidth <= 80 })
        #expect(!lines.contains { $0.hasPrefix(" Examples") })
        let position = try #require(lines[2].range(of: #"1-\d+ of \d+"#, options: .regularExpression))
        #expect(!lines[2][position].isEmpty)
        lines = harness.press(.character("G"))
        #expect(lines.contains { $0.hasPrefix(" Examples") })
        // The headings stay while the aspects scroll.
        #expect(lines[3].contains("[User]"))
        lines = harness.press(.character("g"))
        #expect(lines[4].hasPrefix(" Who"))
        lines = harness.press(.pageDown)
        #expect(!lines[4].hasPrefix(" Who"))
        lines = harness.press(.up, .character("k"), .home)
        #expect(lines[4].hasPrefix(" Who"))
    }

    @Test func fromTheDetailViewEscGoesBackToIt() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.enter, .character("i"))
        #expect(harness.dashboard.view == .explain(id: "gh-alice"))
        harness.press(.escape)
        #expect(harness.dashboard.view == .detail(id: "gh-alice"))
        harness.press(.escape)
        #expect(harness.dashboard.view == .list)
    }

    @Test func helpNamesTheKey() {
        let harness = Fixtures.harness(columns: 80, rows: 24)
        harness.frame()
        let lines = harness.press(.character("?"))
        #expect(lines.contains { $0.contains("i         explain the identity model") })
    }

    @Test func theCoreTableIsTheOneShown() {
        // `tokentop explain` prints the same cells the view draws.
        let text = IdentityModelFacts.text(width: 80, highlight: .org)
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 80 })
        #expect(text.hasPrefix("            User         [Org]"))
        for aspect in IdentityModelFacts.aspects {
            for scope in IdentityScope.allCases {
                #expect(!aspect.answer(scope).isEmpty, "\(aspect.title) has no answer for \(scope)")
            }
        }
        #expect(
            IdentityModelFacts.wrap("refresh_token before expiry", width: 12) == ["refresh_", "token before", "expiry"])
    }
}
