/// How the five identity models differ, side by side: the table behind the dashboard's `i` view and
/// `tokentop explain`.
///
/// Rows are aspects (who enforces permissions, whose name the provider's audit log shows, and so on), columns are
/// the models in dashboard order. The text is plain ASCII, so that its width is its length everywhere.
public enum IdentityModelFacts {
    /// One row of the comparison: a question, and each model's answer.
    public struct Aspect: Sendable {
        /// The row's label, for example `Enforced by`.
        public let title: String
        /// Each model's answer.
        public let answers: [IdentityScope: String]

        /// The answer for `scope`.
        public func answer(_ scope: IdentityScope) -> String { answers[scope] ?? "" }
    }

    /// The rows, in reading order.
    public static let aspects: [Aspect] = [
        Aspect(
            title: "Who enforces permissions",
            answers: [
                .user: "The provider, by the user's own rights, within the granted scopes",
                .org: "The provider grants the org's or admin's rights; your app must limit each person",
                .delegated: "The provider, by the impersonated user's rights, within the scopes the admin allowed",
                .workspace: "The provider, by what the owner granted; every member gets the same",
                .bot: "The provider, by the app's own grants: client scopes, installation permissions",
            ]),
        Aspect(
            title: "Audit log shows",
            answers: [
                .user: "The user",
                .org: "The admin who made the key, or only the key; never the person",
                .delegated: "The impersonated user; some providers add the service account",
                .workspace: "The owner or the workspace; members look alike",
                .bot: "The app itself, such as ci-bot[bot]",
            ]),
        Aspect(
            title: "Sign-ins to onboard",
            answers: [
                .user: "One per user: N users, N sign-ins",
                .org: "One: an admin makes a key or grants once",
                .delegated: "One admin grant for the whole org; none per user",
                .workspace: "One per workspace, by its owner",
                .bot: "None by users; one app install or registration",
            ]),
        Aspect(
            title: "Blast radius if it leaks",
            answers: [
                .user: "One user's data in the granted scopes, until the grant is revoked",
                .org: "All the org can reach, until someone rotates the key",
                .delegated: "The widest: the key can act as any user in the org",
                .workspace: "One workspace's data, shared by all its members",
                .bot: "What the app was granted; a minted token lives an hour at most",
            ]),
        Aspect(
            title: "How it is renewed",
            answers: [
                .user: "refresh_token before expiry; the provider may rotate it",
                .org: "Keys and passwords: by hand; an admin's OAuth grant: refresh_token",
                .delegated: "Minted afresh: signed JWT assertion, on-behalf-of or token exchange",
                .workspace: "As its credential: refresh_token, or by hand for a key",
                .bot: "client_credentials, or an app JWT buys an installation token",
            ]),
        Aspect(
            title: "What re-auth means",
            answers: [
                .user: "That user signs in again: browser with PKCE, or a device code",
                .org: "An admin issues a new key or grants again; then import it",
                .delegated: "An admin renews the org-wide delegation; no user acts",
                .workspace: "The owner reconnects the workspace; members do nothing",
                .bot: "Someone reinstalls the app or replaces its secret or key",
            ]),
        Aspect(
            title: "Examples",
            answers: [
                .user: "GitHub OAuth app, Google sign-in",
                .org: "Stripe API key, Jira basic auth",
                .delegated: "Google domain-wide delegation, Microsoft on-behalf-of",
                .workspace: "Slack or Notion workspace install",
                .bot: "GitHub App, client credentials",
            ]),
    ]

    /// The narrowest width the table is laid out for; narrower asks are laid out at this width.
    public static let minimumWidth = 60

    /// The label column's and each model column's width at `width` columns, with one space between columns.
    public static func columnWidths(width: Int) -> (label: Int, model: Int) {
        let width = max(minimumWidth, width)
        let label = width >= 110 ? 16 : 11
        let model = (width - label - IdentityScope.allCases.count) / IdentityScope.allCases.count
        return (label, model)
    }

    /// One aspect laid out at `width` columns: each line holds the label's piece and then each model's piece.
    public static func lines(of aspect: Aspect, width: Int) -> [[String]] {
        let widths = columnWidths(width: width)
        let columns =
            [wrap(aspect.title, width: widths.label)]
            + IdentityScope.allCases.map { wrap(aspect.answer($0), width: widths.model) }
        let height = columns.map(\.count).max() ?? 0
        return (0..<height).map { line in columns.map { line < $0.count ? $0[line] : "" } }
    }

    /// The header of a model column: its title, marked `[User]` when it is the highlighted one.
    public static func heading(_ scope: IdentityScope, highlighted: Bool) -> String {
        highlighted ? "[\(scope.title)]" : scope.title
    }

    /// The whole table as plain text, each line at most `width` columns (at least ``minimumWidth``).
    /// - Parameter highlight: the model whose column header is marked, as the dashboard marks the selected one.
    public static func text(width: Int = 80, highlight: IdentityScope? = nil) -> String {
        let widths = columnWidths(width: width)
        func row(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { index, cell in
                cell.padding(toLength: index == 0 ? widths.label : widths.model, withPad: " ", startingAt: 0)
            }
            var line = padded.joined(separator: " ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        var lines = [row([""] + IdentityScope.allCases.map { heading($0, highlighted: $0 == highlight) })]
        for aspect in aspects {
            lines.append("")
            lines += Self.lines(of: aspect, width: width).map(row)
        }
        return lines.joined(separator: "\n")
    }

    /// `text` broken at spaces into lines of at most `width` characters; a longer word is split after a `_`, `-`,
    /// `/` or `.` where it has one.
    public static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            var word = String(word)
            if current.isEmpty, word.count <= width {
                current = word
                continue
            }
            if current.count + 1 + word.count <= width {
                current += " " + word
                continue
            }
            if !current.isEmpty { lines.append(current) }
            while word.count > width {
                // Break after a joining mark when there is one (`refresh_` `token`), else where the line ends.
                let head = word.prefix(width)
                let cut = head.lastIndex { "_-/.".contains($0) }.map {
                    head.distance(from: head.startIndex, to: $0) + 1
                }
                let take = cut.map { $0 > 1 ? $0 : width } ?? width
                lines.append(String(word.prefix(take)))
                word = String(word.dropFirst(take))
            }
            current = word
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
