/// A colour in a theme: the terminal's own default, or one of the 256 indexed terminal colours.
enum ThemeColor: Hashable, Sendable {
    case terminalDefault
    case indexed(Int)

    /// The eight base colour names, in their terminal index order.
    static let baseNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// Reads `default`, a base name, `bright-<base name>`, or a number 0–255.
    init?(name: String) {
        let lowered = name.lowercased()
        if lowered == "default" {
            self = .terminalDefault
        } else if let index = Self.baseNames.firstIndex(of: lowered) {
            self = .indexed(index)
        } else if lowered.hasPrefix("bright-"),
            let index = Self.baseNames.firstIndex(of: String(lowered.dropFirst("bright-".count)))
        {
            self = .indexed(index + 8)
        } else if let number = Int(lowered), (0...255).contains(number) {
            self = .indexed(number)
        } else {
            return nil
        }
    }
}

/// Text attributes that work with and without colour.
struct TextAttributes: OptionSet, Hashable, Sendable {
    let rawValue: UInt8

    static let bold = TextAttributes(rawValue: 1 << 0)
    static let dim = TextAttributes(rawValue: 1 << 1)
    static let reverse = TextAttributes(rawValue: 1 << 2)
    static let underline = TextAttributes(rawValue: 1 << 3)

    /// The names a theme file uses, with their attribute.
    static let names: [(String, TextAttributes)] = [
        ("bold", .bold), ("dim", .dim), ("reverse", .reverse), ("underline", .underline),
    ]
}

/// How one cell is drawn: colours and attributes.
struct Style: Hashable, Sendable {
    var foreground: ThemeColor
    var background: ThemeColor
    var attributes: TextAttributes

    init(
        foreground: ThemeColor = .terminalDefault, background: ThemeColor = .terminalDefault,
        attributes: TextAttributes = []
    ) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    /// The terminal's default colours, no attributes.
    static let plain = Style()

    /// Whether this style asks for any colour at all.
    var hasColor: Bool { foreground != .terminalDefault || background != .terminalDefault }

    /// The same style without colours. A coloured background marked a bar or a highlight, so it becomes reverse
    /// video: the cursor row and the header bars stay visible on a monochrome terminal.
    var monochrome: Style {
        var attributes = attributes
        if background != .terminalDefault { attributes.insert(.reverse) }
        return Style(attributes: attributes)
    }
}
