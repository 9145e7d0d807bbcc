import TokentopCore

extension Dashboard {
    // MARK: - The connection list

    func perform(_ action: ListAction, key: Key) {
        let page = max(1, layout.table.height - 1)
        switch action {
        case .up: moveCursor(by: -1)
        case .down: moveCursor(by: 1)
        case .pageUp: moveCursor(by: -page)
        case .pageDown: moveCursor(by: page)
        case .first: moveCursor(to: 0)
        case .last: moveCursor(to: rows.connectionPositions.count - 1)
        case .openDetail:
            guard let connection = cursorConnection else { return say("no connection under the cursor", isError: true) }
            openDetail(connection.id)
        case .startFilter:
            prepareSearch()
            setFilter(filter, editing: true)
        case .scope:
            guard case .character(let character) = key, let number = character.wholeNumberValue,
                IdentityScope.allCases.indices.contains(number - 1)
            else { return }
            setScope(IdentityScope.allCases[number - 1])
        case .allScopes: setScope(nil)
        case .cycleSort:
            setSort(sort.next)
            say("sorted by \(sort.rawValue)")
        case .toggleMark:
            guard let id = cursorConnection?.id else { return }
            var marks = marked
            if marks.remove(id) == nil { marks.insert(id) }
            setMarked(marks)
            // What the last message said of the marks ("no row is marked") no longer holds.
            clearMessage()
            moveCursor(by: 1)
        case .unmarkAll:
            guard !marked.isEmpty else { return say("no row is marked") }
            // Marks outlive a filter, so that `r` and `x` may act on rows gathered under several: say how many went.
            let count = marked.count
            setMarked([])
            say(count == 1 ? "unmarked 1 row" : "unmarked \(count) rows")
        case .refresh: askToRefresh(targets)
        case .copy:
            guard let id = cursorConnection?.id else { return say("no connection under the cursor", isError: true) }
            copyRequest = id
        case .revoke: askToRevoke(targets)
        case .reauth: showReauth(for: cursorConnection?.id)
        case .explain:
            guard let connection = cursorConnection else { return say("no connection under the cursor", isError: true) }
            openExplain(connection.id)
        case .help: setOverlay(.help)
        case .back:
            // Like k9s: Esc clears a filter and otherwise does nothing, so a stray Esc never quits or loses marks.
            if !filter.isEmpty { setFilter("", editing: false) }
        case .quit: quit()
        }
    }

    // MARK: - The filter prompt

    /// The longest filter: longer than any id, subject or provider (a subject is at most 320 characters) is not
    /// needed, since a filter matches within one field.
    static let filterLimit = 320

    /// Whether the filter has reached ``filterLimit``, counted in code points: a run of combining marks is one
    /// character however long it grows.
    var filterIsFull: Bool { filter.unicodeScalars.count >= Self.filterLimit }

    /// The filter with `characters` typed at its end: printable ones only (Ctrl-A or an escape byte would add a
    /// character nothing can match), and no further than ``filterLimit`` (no connection's field is longer: more is
    /// a paste gone astray, which each key would filter again; the hint bar says why the rest is not taken).
    private func filter(typing characters: some Sequence<Character>) -> String {
        var typed = filter
        for character in characters {
            guard let character = Key.character(character).typedCharacter else { continue }
            guard typed.unicodeScalars.count + character.unicodeScalars.count <= Self.filterLimit else { break }
            typed.append(character)
        }
        return typed
    }

    func handleFilterKey(_ key: Key) {
        switch key {
        case .character(let character): setFilter(filter(typing: [character]), editing: true)
        case .paste(let text):
            // The first line: a pasted id often ends with a newline, and nothing in a paste may act as Enter.
            setFilter(filter(typing: text.split(omittingEmptySubsequences: false) { $0.isNewline }.first ?? ""),
                editing: true)
        case .backspace: setFilter(String(filter.dropLast()), editing: true)
        case .enter: setFilter(filter, editing: false)
        case .escape: setFilter("", editing: false)
        case .up: moveCursor(by: -1)
        case .down: moveCursor(by: 1)
        case .pageUp: moveCursor(by: -max(1, layout.table.height - 1))
        case .pageDown: moveCursor(by: max(1, layout.table.height - 1))
        default: break
        }
    }

    // MARK: - The detail view

    func handleDetailKey(_ key: Key, id: String) {
        let page = max(1, layout.body.height - 1)
        let lastTop = max(0, detailLineCount - layout.body.height)
        switch key {
        case .escape, .left: closeDetail()
        case .up, .character("k"): setDetailScroll(min(detailScroll, lastTop) - 1)
        case .down, .character("j"): setDetailScroll(min(detailScroll + 1, lastTop))
        case .pageUp: setDetailScroll(min(detailScroll, lastTop) - page)
        case .pageDown: setDetailScroll(min(detailScroll + page, lastTop))
        case .home, .character("g"): setDetailScroll(0)
        case .end, .character("G"): setDetailScroll(lastTop)
        default:
            // The actions go by the key map, so a rebound key works here as in the list; the quit key goes back,
            // as `q` does by default, and a `q` given to another action does that action here too.
            let action = keyMap.action(for: key)
            if let action, [.refresh, .revoke, .reauth].contains(action), snapshot.connection(id: id) == nil {
                // Deleted by another process (`tokentop delete`) while shown: there is nothing left to act on.
                return say("connection \(id) no longer exists: nothing to act on; Esc goes back", isError: true)
            }
            switch action {
            case .quit?: closeDetail()
            case .refresh?: requestRefresh([id])
            case .revoke?: askToRevoke([id])
            case .reauth?: showReauth(for: id)
            case .explain?: openExplain(id)
            case .copy?: copyRequest = id
            case .help?: setOverlay(.help)
            default: break
            }
        }
    }

    /// How many lines the detail view has at the current width.
    var detailLineCount: Int {
        guard case .detail(let id) = view else { return 0 }
        return DetailContent(dashboard: self, id: id, now: now).lines(width: size.columns).count
    }

    // MARK: - Overlays

    func handle(_ key: Key, overlay: Overlay) {
        switch overlay {
        case .help, .reauth:
            setOverlay(nil)
        case .signIn(let id):
            handleSignInKey(key, id: id)
        case .confirmRefresh(let ids):
            setOverlay(nil)
            guard key == .character("y") else { return say("refresh cancelled") }
            requestRefresh(ids)
        case .confirmRevoke(let ids):
            setOverlay(nil)
            // Only a lower-case y confirms: a stray key, Enter or an upper-case Y from caps lock cancels.
            guard key == .character("y") else { return say("revoke cancelled") }
            revoke(ids)
        }
    }
}
