import TokentopCore

/// The revoke confirmation, the re-auth prompt and the sign-in, as a box in the middle of the screen.
struct DialogWidget: Widget {
    let overlay: Overlay

    func draw(in rect: Rect, on canvas: inout Canvas, context: RenderContext) {
        let (title, paragraphs) = content(context.dashboard)
        let width = min(rect.width - 4, 76)
        let wrapped = paragraphs.map { $0.wrapped(toWidth: width - 4) }
        // A blank line between paragraphs while they fit; without, on a terminal too short for them, so that the
        // text (a URL and a code to type) is cut later, or not at all.
        let spaced = wrapped.count + wrapped.reduce(0) { $0 + $1.count } + 1 <= rect.height
        let lines = wrapped.enumerated().flatMap { index, paragraph in (spaced && index > 0 ? [""] : []) + paragraph }
        let box = rect.centered(height: min(rect.height, lines.count + 2), width: width)
        let style = context.theme[.dialog]
        canvas.box(box, title: title, style: style)
        for (offset, line) in lines.prefix(box.height - 2).enumerated() {
            canvas.put(line, row: box.row + 1 + offset, column: box.column + 2, width: box.width - 4, style: style)
        }
    }

    func content(_ dashboard: Dashboard) -> (title: String, paragraphs: [String]) {
        let snapshot = dashboard.snapshot
        switch overlay {
        case .confirmRefresh(let ids):
            let connections = ids.compactMap { snapshot.connection(id: $0) }
            return (
                "Refresh",
                [
                    "Refresh \(ids.count) connections now? Each asks its provider for a new token. [y/N]",
                    connections.prefix(8).map { "\($0.id) (\($0.subject))" }.joined(separator: "\n")
                        + (ids.count > 8 ? "\n…and \(ids.count - 8) more" : ""),
                ]
            )
        case .confirmRevoke(let ids):
            let connections = ids.compactMap { snapshot.connection(id: $0) }
            let noEndpoint = connections.filter { snapshot.integrations[$0.integrationID]?.revocationURL == nil }
            var paragraphs: [String]
            if ids.count == 1 {
                let subject = connections.first.map { " (\($0.subject))" } ?? ""
                let how =
                    noEndpoint.first.map {
                        "Its integration has no revocation endpoint: it is marked revoked here only, and "
                            + "\($0.validAtProviderAfterLocalRevoke)."
                    } ?? "This calls the provider's revocation endpoint."
                return ("Revoke", ["Revoke \(ids[0])\(subject)? \(how) [y/N]"])
            } else {
                paragraphs = [
                    "Revoke \(ids.count) connections? This calls the provider's revocation endpoint. [y/N]",
                    connections.prefix(8).map { "\($0.id) (\($0.subject))" }.joined(separator: "\n")
                        + (ids.count > 8 ? "\n…and \(ids.count - 8) more" : ""),
                ]
            }
            if !noEndpoint.isEmpty {
                paragraphs.append(
                    "No revocation endpoint for \(noEndpoint.map(\.id).prefix(3).joined(separator: ", "))"
                        + (noEndpoint.count > 3 ? ", …" : "") + ": it is marked revoked here only.")
            }
            return ("Revoke", paragraphs)
        case .reauth(let id, let prompt):
            guard let prompt else {
                let connection = snapshot.connections.first { $0.id == id }
                var text = ["No re-authorization is pending for \(id)."]
                if let connection { text.append("Were it needed: \(connection.scope.reauthActor).") }
                return ("Re-auth", text)
            }
            var paragraphs = ["Who must act: \(prompt.who)", "Why: \(prompt.reason)"]
            if let url = prompt.url { paragraphs.append("Start here: \(url)") }
            return ("Re-auth \(id)", paragraphs)
        case .signIn(let id):
            return SignInDialog.content(id: id, dashboard: dashboard)
        case .help:
            return ("", [])
        }
    }
}
