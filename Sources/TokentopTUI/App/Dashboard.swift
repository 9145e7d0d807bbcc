import Foundation
import TokentopCore

/// The dashboard's state and its answers to keys. It never touches the terminal, so tests drive it directly.
///
/// The table's rows are rebuilt only when the snapshot version, the filter, the scope or the sort changes; a frame
/// reads the rows it shows and nothing else.
final class Dashboard {
    let backend: any DashboardBackend
    private(set) var snapshot: DashboardSnapshot
    private(set) var size: TerminalSize
    private(set) var view: DashboardView = .list
    private(set) var overlay: Overlay?
    private(set) var filter = ""
    private(set) var isEditingFilter = false
    private(set) var scope: IdentityScope?
    private(set) var sort: SortOrder = .group
    /// Ids of marked connections; `r` and `x` act on them when there are any.
    private(set) var marked: Set<String> = []
    private(set) var rows = RowList()
    /// How many times the rows were rebuilt; tests check that frames do not rebuild them.
    private(set) var rowBuilds = 0
    /// The cursor, as an index into `rows.connectionPositions`; nil when no connection is shown.
    private(set) var cursor: Int?
    /// The first table row on screen.
    private(set) var scrollTop = 0
    /// The first detail line on screen.
    private(set) var detailScroll = 0
    /// The first line of the explainer's aspects on screen.
    private(set) var explainScroll = 0
    /// Where Esc goes back to from the explainer: the list, or the detail view it was opened from.
    private var explainReturn: DashboardView = .list
    /// The re-auth prompt for the connection in the detail view, fetched when it opens or changes.
    private(set) var detailPrompt: ReauthPrompt?
    private(set) var message: StatusMessage?
    /// Refreshes and revocations asked for here whose outcome no snapshot has shown yet.
    private(set) var pending = PendingRequests()
    private(set) var shouldQuit = false
    /// The sign-in the dialog shows; changed only by `Dashboard+SignIn.swift`.
    var signIn = SignInDialog()
    /// The list's keys, with the configuration's overrides.
    var keyMap = KeyMap.standard
    /// Text the user asked to copy (`c`), for the loop to hand to the clipboard between two frames.
    var copyRequest: String?
    private var cursorID: String?
    /// The connection as it was when its history was last requested, so a change asks again.
    private var historyRequestedFor: Connection?
    private var searchIndex: SearchIndex?
    private var order: RowOrder?
    private var countsCache: (version: UInt64, second: Int, counts: [ConnectionStatus: Int])?

    init(backend: any DashboardBackend, size: TerminalSize) {
        self.backend = backend
        self.size = size
        snapshot = DashboardSnapshot(version: .max, databasePath: "")
        update(snapshot: backend.snapshot())
    }

    /// The clock the countdowns use.
    var now: Date { backend.timeSource.now() }

    var layout: Layout { Layout(size: size, noticeLines: NoticeWidget.lineCount(snapshot, width: size.columns)) }

    /// The connection under the cursor.
    var cursorConnection: Connection? {
        guard let cursor, case .connection(let index) = rows.rows[rows.connectionPositions[cursor]] else { return nil }
        return snapshot.connections[index]
    }

    /// The row position of the cursor in `rows.rows`.
    var cursorPosition: Int? { cursor.map { rows.connectionPositions[$0] } }

    /// The status a row shows: the core's, or what the user asked for while it has not shown yet.
    func shownStatus(of connection: Connection, at now: Date) -> (text: String, role: ThemeRole) {
        switch pending.kind(of: connection.id) {
        case .refresh: return ("\(ConnectionStatus.refreshing.symbol) refreshing", .status(.refreshing))
        case .revoke: return ("… revoking", .status(.revoked))
        case nil:
            let status = snapshot.status(of: connection, at: now)
            if status == .static, let probe = connection.probe {
                // The last probe's verdict, by a mark as well as a colour: ✓ accepted, ✗ failed.
                return probe.ok
                    ? ("\(status.symbol) static ✓", .status(.static))
                    : ("\(status.symbol) static ✗", .status(.failing))
            }
            return ("\(status.symbol) \(status.rawValue)", .status(status))
        }
    }

    /// How many connections have each status now; computed at most once per snapshot version and second.
    func statusCounts(at now: Date) -> [ConnectionStatus: Int] {
        let second = Int(now.timeIntervalSince1970.rounded(.down))
        if let cache = countsCache, cache.version == snapshot.version, cache.second == second { return cache.counts }
        let counts = snapshot.counts(at: now)
        countsCache = (snapshot.version, second, counts)
        return counts
    }

    // MARK: - Inputs

    /// Takes the core's newest snapshot; rows are rebuilt only when its version differs.
    func update(snapshot newSnapshot: DashboardSnapshot) {
        pollSignIn()
        let changed = newSnapshot.version != snapshot.version
        snapshot = newSnapshot
        guard changed else { return }
        pending.settle(with: snapshot)
        // A connection another process deleted (`tokentop delete`) is no longer there to act on.
        if !marked.isEmpty { marked = marked.filter { snapshot.index(of: $0) != nil } }
        rebuildRows()
        if case .detail(let id) = view { detailChanged(id: id) }
    }

    /// Takes the terminal's size; the cursor stays visible. A taller table shows its new lines above the first
    /// row shown, as far as there are rows there: a table scrolled down while the terminal was small (to keep the
    /// cursor in view) comes back to its top once there is room again, rather than staying scrolled.
    func resize(to newSize: TerminalSize) {
        guard newSize != size else { return }
        let before = layout.table.height
        size = newSize
        let grown = layout.table.height - before
        if grown > 0 { scrollTop = max(0, scrollTop - grown) }
        scrollToCursor()
    }

    func handle(_ key: Key) {
        // Below the smallest size only the message shows: a key must not act on a row, a view or a dialog the
        // user cannot see (a blind `x` `y` would revoke). The quit key, as bound, still quits, as the message says.
        guard size.isLargeEnough else {
            if keyMap.action(for: key) == .quit { quit() }
            return
        }
        if let overlay {
            handle(key, overlay: overlay)
        } else if isEditingFilter {
            handleFilterKey(key)
        } else if case .explain = view {
            handleExplainKey(key)
        } else if case .detail(let id) = view {
            handleDetailKey(key, id: id)
        } else if case .paste = key {
            say("a paste goes into the filter only: press / first", isError: true)
        } else if let action = keyMap.action(for: key) {
            perform(action, key: key)
        }
    }

    // MARK: - Rows and cursor

    func rebuildRows() {
        let query = RowList.Query(version: snapshot.version, filter: filter, scope: scope, sort: sort)
        guard query != rows.query else { return }
        let previousCursor = cursor
        let previous = rows.query
        let cursorAt = cursorIndex()
        // The order and the search index outlive a version that moved nothing (a refresh): then only a new
        // filter or scope builds new rows, and a refresh that changed no row's place builds none.
        var reordered = false
        let current: RowOrder
        if var kept = order, kept.adopt(snapshot, sort: sort) {
            current = kept
        } else {
            current = RowOrder(snapshot: snapshot, sort: sort, now: now)
            reordered = true
        }
        order = current
        // The index is kept while the filter is empty, so that the next `/` starts typing at once.
        var reindexed = false
        if !filter.isEmpty {
            if var index = searchIndex {
                reindexed = index.adopt(snapshot)
                searchIndex = index
            } else {
                searchIndex = SearchIndex(snapshot: snapshot)
            }
        }
        let sameShape = previous.filter == filter && previous.scope == scope && previous.sort == sort
        if sameShape, !reordered, !reindexed, previous.version != .max {
            rows = rows.carried(to: snapshot.version)
            return
        }
        let matches = filter.isEmpty ? nil : searchIndex?.search(filter)
        rows = RowList(snapshot: snapshot, query: query, order: current, matches: matches)
        rowBuilds += 1
        if let ordinal = cursorAt.flatMap({ rows.ordinal(ofConnectionAt: $0) }) {
            cursor = ordinal
        } else if rows.connectionPositions.isEmpty {
            cursor = nil
        } else {
            cursor = min(previousCursor ?? 0, rows.connectionPositions.count - 1)
        }
        cursorID = cursorConnection?.id
        scrollToCursor()
    }

    /// Builds the filter's index when `/` opens the prompt, so that the first character typed only searches.
    func prepareSearch() {
        if var index = searchIndex {
            index.adopt(snapshot)
            searchIndex = index
        } else {
            searchIndex = SearchIndex(snapshot: snapshot)
        }
    }

    /// Where the connection under the cursor is in the snapshot now: where it was, unless the snapshot moved it.
    private func cursorIndex() -> Int? {
        guard let id = cursorID else { return nil }
        let connections = snapshot.connections
        if let cursor, cursor < rows.connectionPositions.count, case .connection(let index) = rows.rows[
            rows.connectionPositions[cursor]], index < connections.count, connections[index].id == id
        {
            return index
        }
        return connections.firstIndex { $0.id == id }
    }

    func moveCursor(to ordinal: Int) {
        guard !rows.connectionPositions.isEmpty else { return }
        cursor = min(max(0, ordinal), rows.connectionPositions.count - 1)
        cursorID = cursorConnection?.id
        scrollToCursor()
    }

    func moveCursor(by delta: Int) {
        guard let cursor else { return }
        moveCursor(to: cursor + delta)
    }

    /// Scrolls the least that brings the cursor into the table, with its group header when it is a group's first.
    func scrollToCursor() {
        let height = max(1, layout.table.height)
        let maxTop = max(0, rows.rows.count - height)
        guard let position = cursorPosition else {
            scrollTop = min(scrollTop, maxTop)
            return
        }
        if position < scrollTop {
            scrollTop = position
        } else if position >= scrollTop + height {
            scrollTop = position - height + 1
        }
        if position > 0, position - 1 < scrollTop {
            // The group, workspace or parent lines right above the cursor come into view with it.
            scrollTop = max(rows.headingStart(above: position), position - height + 1)
        }
        scrollTop = min(max(0, scrollTop), maxTop)
    }

    // MARK: - Targets and messages

    /// The marked connections in id order, or else the one under the cursor.
    var targets: [String] {
        if !marked.isEmpty { return marked.sorted() }
        return cursorConnection.map { [$0.id] } ?? []
    }

    func say(_ text: String, isError: Bool = false) {
        message = StatusMessage(text: text, isError: isError, at: now)
    }

    /// Forgets the last message: a new action's dialog says what goes on now.
    func clearMessage() { message = nil }

    /// `ID` for one target, `N connections (a, b, …)` for several.
    static func describe(_ ids: [String]) -> String {
        guard ids.count > 1 else { return ids.first ?? "" }
        let shown = ids.prefix(3).joined(separator: ", ")
        return "\(ids.count) connections (\(shown)\(ids.count > 3 ? ", …" : ""))"
    }

    // MARK: - Actions shared by the list and the detail view

    /// Says why nothing happens in a read-only session; true when the action may go ahead.
    private func writable(_ action: String) -> Bool {
        guard snapshot.readOnly else { return true }
        say("read-only: tokentop was started with --readonly, so it does not \(action)", isError: true)
        return false
    }

    func requestRefresh(_ ids: [String]) {
        guard writable("refresh") else { return }
        guard !ids.isEmpty else { return say("no connection to refresh", isError: true) }
        // Said at once, rather than "refresh requested" and the refusal in the event pane a moment later.
        let revoked = revokedConnections(among: ids)
        if revoked.count == ids.count {
            // Short enough to fit beside the position at 120 columns.
            let one = ids.count == 1
            let restore =
                revoked.allSatisfy { $0.credential.expires }
                ? "re-authorize \(one ? "it" : "them")" : "import \(one ? "a new credential" : "new ones")"
            return say(
                "\(Self.describe(ids)) \(one ? "is" : "are") revoked, nothing to refresh: \(restore)", isError: true)
        }
        backend.refresh(ids)
        pending.add(.refresh, ids: ids, at: now, snapshot: snapshot)
        say("refresh requested: \(Self.describe(ids))")
    }

    /// Says how `text` reached the clipboard: by a desktop tool, by OSC 52, or not at all.
    func copied(_ text: String, via: String?) {
        switch via {
        case "OSC 52"?: say("copied \(text) to the terminal's clipboard (OSC 52, where the terminal allows it)")
        case let tool?: say("copied \(text) (\(tool))")
        case nil:
            say(
                "cannot copy \(text): no clipboard tool (wl-copy, xclip, xsel) and this terminal takes no OSC 52",
                isError: true)
        }
    }

    /// One connection refreshes at once; several marked ones ask first, naming how many, unless all are revoked
    /// (said at once, as for one).
    func askToRefresh(_ ids: [String]) {
        guard ids.count > 1, revokedConnections(among: ids).count < ids.count else { return requestRefresh(ids) }
        guard writable("refresh") else { return }
        overlay = .confirmRefresh(ids: ids)
    }

    /// The connections of `ids` that are revoked, looked up one by one (not a pass over every connection).
    private func revokedConnections(among ids: [String]) -> [Connection] {
        ids.compactMap { snapshot.connection(id: $0) }.filter { $0.revokedAt != nil }
    }

    /// Asks before revoking; when every row is already revoked, says so at once (as `r` on them does) rather than
    /// asking and refusing after.
    func askToRevoke(_ ids: [String]) {
        guard writable("revoke") else { return }
        guard !ids.isEmpty else { return say("no connection to revoke", isError: true) }
        guard revokedConnections(among: ids).count < ids.count else {
            return say("\(Self.describe(ids)) \(ids.count == 1 ? "is" : "are") already revoked", isError: true)
        }
        overlay = .confirmRevoke(ids: ids)
    }

    func showReauth(for id: String?) {
        guard let id else { return say("no connection under the cursor", isError: true) }
        if startSignIn(id) { return }
        overlay = .reauth(id: id, prompt: backend.requestReauth(for: id))
    }

    /// Opens the detail view of `id`; what the list's message line said stays with the list.
    func openDetail(_ id: String) {
        clearMessage()
        view = .detail(id: id)
        detailScroll = 0
        historyRequestedFor = nil
        detailChanged(id: id)
    }

    /// Asks again for the prompt, and for the history when the connection changed since the last request.
    ///
    /// Both only read: looking at a connection is no operator action, and nothing of it reaches the audit log.
    private func detailChanged(id: String) {
        detailPrompt = backend.reauthPrompt(for: id)
        let connection = snapshot.connections.first { $0.id == id }
        if historyRequestedFor == nil || connection != historyRequestedFor {
            backend.requestHistory(for: id)
            historyRequestedFor = connection
        }
    }

    /// Back to the list; what the message line said of the detail view's connection stays with it.
    func closeDetail() {
        clearMessage()
        view = .list
        detailPrompt = nil
        historyRequestedFor = nil
        scrollToCursor()
    }

    /// Opens the explainer for `id`; Esc comes back to the current view.
    func openExplain(_ id: String) {
        if case .explain = view {} else { explainReturn = view }
        view = .explain(id: id)
        explainScroll = 0
    }

    func closeExplain() {
        view = explainReturn
        explainReturn = .list
        if view == .list { scrollToCursor() }
    }

    func setExplainScroll(_ value: Int) { explainScroll = max(0, value) }
    func setDetailScroll(_ value: Int) { detailScroll = max(0, value) }
    func setOverlay(_ value: Overlay?) { overlay = value }
    func setFilter(_ value: String, editing: Bool) {
        filter = value
        isEditingFilter = editing
        rebuildRows()
    }
    func setScope(_ value: IdentityScope?) {
        scope = value
        rebuildRows()
    }
    func setSort(_ value: SortOrder) {
        sort = value
        rebuildRows()
    }
    func setMarked(_ value: Set<String>) { marked = value }

    /// Sends the revocation of `ids` the user confirmed.
    func revoke(_ ids: [String]) {
        backend.revoke(ids)
        pending.add(.revoke, ids: ids, at: now, snapshot: snapshot)
        setMarked(marked.subtracting(ids))
        say("revoke requested: \(Self.describe(ids))")
    }
    func quit() { shouldQuit = true }
}
