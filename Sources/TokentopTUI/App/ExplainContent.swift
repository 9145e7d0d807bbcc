import Foundation
import TokentopCore

/// The explainer's lines: the selected connection's identity model beside the other four, from the core's
/// ``IdentityModelFacts`` (the same table `tokentop explain` prints).
///
/// Columns are the five models; the selected one is marked by its heading (`[User]`, in the cursor's style) and by
/// its cells (in the marked style), so it stands out without colour too.
struct ExplainContent {
    let connection: Connection?
    let id: String

    init(dashboard: Dashboard, id: String) {
        connection = dashboard.snapshot.connections.first { $0.id == id }
        self.id = id
    }

    /// The lines that stay on screen while the rest scrolls: the title and the column headings.
    func header(width: Int) -> [DetailLine] {
        guard let connection else {
            return [DetailLine(segments: [(" Connection \(id) no longer exists. Esc goes back.", .error)])]
        }
        let title =
            " Identity models · \(connection.id) is \(connection.scope.title) "
            + "(\(connection.credential.rawValue), \(connection.grant.rawValue))"
        var headings: [(text: String, role: ThemeRole)] = [
            (" " + "".padded(toWidth: widths(width).label) + " ", .tableHeader)
        ]
        for scope in IdentityScope.allCases {
            let selected = scope == connection.scope
            let text = IdentityModelFacts.heading(scope, highlighted: selected).padded(toWidth: widths(width).model)
            headings.append((text, selected ? .cursor : .tableHeader))
            headings.append((" ", .tableHeader))
        }
        return [DetailLine(segments: [(title, .header)]), DetailLine(segments: headings)]
    }

    /// The aspects, one block each, with a blank line between blocks.
    func body(width: Int) -> [DetailLine] {
        guard let connection else { return [] }
        let widths = widths(width)
        var lines: [DetailLine] = []
        for (index, aspect) in IdentityModelFacts.aspects.enumerated() {
            if index > 0 { lines.append(DetailLine(segments: [])) }
            for cells in IdentityModelFacts.lines(of: aspect, width: width - 1) {
                var segments: [(text: String, role: ThemeRole)] = [
                    (" " + cells[0].padded(toWidth: widths.label) + " ", .label)
                ]
                for (scope, cell) in zip(IdentityScope.allCases, cells.dropFirst()) {
                    segments.append(
                        (cell.padded(toWidth: widths.model), scope == connection.scope ? .marked : .row))
                    segments.append((" ", .row))
                }
                lines.append(DetailLine(segments: segments))
            }
        }
        return lines
    }

    /// The column widths of the facts table, laid out one column in from the left edge.
    private func widths(_ width: Int) -> (label: Int, model: Int) {
        IdentityModelFacts.columnWidths(width: width - 1)
    }
}
