import Foundation
import Testing
import TokentopCore

@testable import TokentopTUI

@Suite struct KeyMapTests {
    @Test func theBuiltInTableHasNoClashAndMatchesTheConfigurationsActions() throws {
        _ = try KeyMap()
        #expect(Set(KeyMap.bindable.keys) == Set(Settings.bindableActions))
        #expect(KeyMap.standard.action(for: .character("c")) == .copy)
    }

    /// The configuration reader refuses a key another action keeps by its table of the default keys: that table
    /// is this one's, every character and every bindable action's name.
    @Test func theConfigurationsTableOfDefaultKeysIsTheDashboards() {
        var characters: [String: String] = [:]
        for binding in KeyBinding.list {
            for case .character(let character) in binding.keys {
                characters[String(character)] =
                    KeyMap.bindable.first { $0.value == binding.action }?.key ?? Settings.standardKeys[String(character)]
            }
        }
        #expect(characters == Settings.standardKeys)
        // Every override the reader accepts, the dashboard accepts too.
        let moved = try? ConfigFile.parse(Data(#"{"keys": {"sort": "/", "filter": "F"}}"#.utf8), source: "c.json")
        #expect(moved?.keys == ["sort": "/", "filter": "F"])
        #expect((try? KeyMap(overrides: moved?.keys ?? [:]))?.action(for: .character("/")) == .cycleSort)
    }

    @Test func anOverrideMovesTheKeyAndTheHelpAndHintsFollow() throws {
        let harness = Fixtures.harness()
        harness.dashboard.keyMap = try KeyMap(overrides: ["refresh": "R", "details": "o"])
        harness.frame()
        harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed.isEmpty, "r no longer refreshes")
        harness.press(.character("R"))
        #expect(harness.backend.calls.refreshed == [["gh-alice"]])
        #expect(harness.text.contains("R refresh"))
        harness.press(.character("o"))
        #expect(harness.dashboard.view == .detail(id: "gh-alice"), "o opens details")
        harness.press(.escape, .enter)
        #expect(harness.dashboard.view == .detail(id: "gh-alice"), "Enter still opens details")
        harness.press(.escape, .character("?"))
        #expect(harness.text.contains("R         refresh the marked rows"))
    }

    @Test func aClashIsRefusedNamingTheSetting() {
        #expect(throws: KeyMapError.self) { try KeyMap(overrides: ["refresh": "x"]) }
        do {
            _ = try KeyMap(overrides: ["refresh": "x"])
        } catch {
            #expect(error.description == "keys.refresh: 'x' is already the key of revoke; choose another character")
        }
        // Swapping two keys is fine.
        let swapped = try? KeyMap(overrides: ["refresh": "x", "revoke": "r"])
        #expect(swapped?.action(for: .character("x")) == .refresh)
        do {
            _ = try KeyMap(overrides: ["sort": "j"])
        } catch {
            #expect(error.description == "keys.sort: 'j' is already the key of cursor down; choose another character")
        }
    }

    @Test func severalMarkedRowsAskBeforeRefreshingAndNameHowMany() {
        let harness = Fixtures.harness()
        harness.frame()
        harness.press(.character(" "), .character(" "), .character(" "))
        harness.press(.character("r"))
        #expect(harness.backend.calls.refreshed.isEmpty)
        #expect(harness.text.contains("Refresh 3 connections now?"))
        harness.press(.character("n"))
        #expect(harness.backend.calls.refreshed.isEmpty)
        #expect(harness.text.contains("refresh cancelled"))
        harness.press(.character("r"), .character("y"))
        #expect(harness.backend.calls.refreshed.count == 1)
        #expect(harness.backend.calls.refreshed.first?.count == 3)
    }

    @Test func cCopiesTheConnectionsIdAndSaysHow() {
        let harness = Fixtures.harness(environment: ["TERM": "xterm-256color"])
        harness.frame()
        harness.press(.character("c"))
        #expect(harness.screen.clipboard == ["gh-alice"])
        #expect(harness.text.contains("copied gh-alice to the terminal's clipboard (OSC 52"))
    }
}
