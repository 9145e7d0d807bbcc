extension Theme {
    /// Parses a theme file: `role = foreground [background] [attribute ...]` per line, `#` comments.
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the name used in error messages.
    ///   - base: the theme whose styles the file's roles override; the built-in default unless given.
    /// - Throws: ``ThemeError`` naming the first bad line and what it would accept.
    static func parse(_ text: String, file: String, base: Theme? = nil) throws -> Theme {
        var styles: [ThemeRole: Style] = [:]
        var seenAt: [ThemeRole: Int] = [:]
        let known = Dictionary(uniqueKeysWithValues: ThemeRole.all.map { ($0.name, $0) })
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if line.allSatisfy(\.isWhitespace) { continue }
            func fail(_ message: String) -> ThemeError { ThemeError(file: file, line: number, message: message) }
            let sides = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard sides.count == 2 else { throw fail("expected 'role = foreground [background] [attributes]'") }
            let name = sides[0].trimmingWhitespace
            guard let role = known[name] else {
                let roles = ThemeRole.all.map(\.name).joined(separator: ", ")
                throw fail("unknown role\(quoted(name)); known roles: \(roles)")
            }
            if let first = seenAt[role] { throw fail("role '\(name)' is already set on line \(first)") }
            seenAt[role] = number
            styles[role] = try parseStyle(sides[1].split(whereSeparator: \.isWhitespace).map(String.init)) {
                fail("\(name): \($0)")
            }
        }
        var merged = base ?? builtIn
        for (role, style) in styles { merged.styles[role] = style }
        return merged
    }

    private static func parseStyle(_ words: [String], fail: (String) -> ThemeError) throws -> Style {
        let colours = "default, black, red, green, yellow, blue, magenta, cyan, white, bright-<colour> or 0-255"
        guard let first = words.first else { throw fail("missing a foreground colour (\(colours))") }
        guard let foreground = ThemeColor(name: first) else {
            throw fail("unknown colour\(quoted(first)); use \(colours)")
        }
        var style = Style(foreground: foreground)
        var rest = words.dropFirst()
        if let second = rest.first, let background = ThemeColor(name: second) {
            style.background = background
            rest = rest.dropFirst()
        }
        for word in rest {
            if word.lowercased() == "none" { continue }
            guard let attribute = TextAttributes.names.first(where: { $0.0 == word.lowercased() })?.1 else {
                throw fail(
                    "unknown colour or attribute\(quoted(word)); attributes are bold, dim, reverse, underline, none")
            }
            style.attributes.insert(attribute)
        }
        return style
    }

    /// ` 'word'` when `word` is plainly a word a person typed for a role, a colour or an attribute (at most 20
    /// lower-case letters, dots and dashes, or a number of up to 4 digits), else a note that it is not repeated:
    /// a theme file may be a link to a secret (the key file), and an error must not print what it holds.
    static func quoted(_ word: String) -> String {
        let plain =
            (word.count <= 20 && word.allSatisfy { ("a"..."z").contains($0) || $0 == "." || $0 == "-" })
            || (word.count <= 4 && word.allSatisfy { $0.isASCII && $0.isNumber })
        return plain && !word.isEmpty ? " '\(word)'" : " (not repeated here: not a short lower-case word)"
    }
}

extension Substring {
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
