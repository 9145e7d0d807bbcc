extension Character {
    /// How many terminal cells the character (a grapheme cluster) takes: 2 when any of its scalars is East Asian
    /// wide or fullwidth or an emoji, 0 when all of them are combining marks, joiners or variation selectors, and
    /// 1 otherwise.
    ///
    /// The whole cluster is one unit, so `👩‍💻` (woman, zero-width joiner, laptop) is 2 cells, not 4. This is
    /// computed here, not with `wcwidth`, so that render tests do not depend on the process locale.
    public var displayWidth: Int {
        // Most text on the dashboard is ASCII; it skips the property lookups.
        if asciiValue != nil { return 1 }
        var width = 0
        for scalar in unicodeScalars {
            let cells = scalar.cellWidth
            if cells == 2 { return 2 }
            width = max(width, cells)
        }
        // An emoji that is text by default (❤, ☺, a keycap digit) asks for emoji presentation with U+FE0F.
        if unicodeScalars.contains(where: { $0.value == 0xFE0F }), unicodeScalars.first?.properties.isEmoji == true {
            return 2
        }
        return width
    }

    /// Whether the terminal must not receive this character as it is: control and format characters could move
    /// the cursor, change colours or reorder text (bidi overrides).
    ///
    /// Inside a cluster the joiners and the tag characters of flag sequences are harmless and allowed; a cluster
    /// that starts with a format character, or holds any other, is not.
    public var isUnsafeForTerminal: Bool {
        // ASCII skips the property lookups: only its C0 controls and DEL are unsafe.
        if let ascii = asciiValue { return ascii < 0x20 || ascii == 0x7F }
        for (offset, scalar) in unicodeScalars.enumerated() {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned: return true
            case .format:
                let joiner = (0x200C...0x200D).contains(scalar.value) || (0xE0020...0xE007F).contains(scalar.value)
                if offset == 0 || !joiner { return true }
            default: continue
            }
        }
        return unicodeScalars.isEmpty
    }
}

extension Unicode.Scalar {
    /// The cells one scalar takes on its own: 0 for combining marks, joiners and variation selectors, 2 for East
    /// Asian wide and fullwidth characters and emoji presentation, 1 otherwise.
    ///
    /// ``GridScreen`` places scalars by these widths as a terminal places them by `wcwidth`.
    public var cellWidth: Int {
        if value < 0x300 { return 1 }
        if isZeroWidth { return 0 }
        return Self.isWide(value) || properties.isEmojiPresentation ? 2 : 1
    }

    /// Combining marks, zero-width (non-)joiners and variation selectors: they only change the scalar before them.
    public var isZeroWidth: Bool {
        switch value {
        case 0x200B...0x200D, 0xFE00...0xFE0F, 0xE0100...0xE01EF, 0xE0020...0xE007F: return true
        default: break
        }
        switch properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .spacingMark: return true
        default: return false
        }
    }

    private static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3, 0x25FD...0x25FE,
            0x2614...0x2615, 0x2648...0x2653, 0x267F, 0x2693, 0x26A1, 0x26AA...0x26AB, 0x26BD...0x26BE,
            0x26C4...0x26C5, 0x26CE, 0x26D4, 0x26EA, 0x26F2...0x26F3, 0x26F5, 0x26FA, 0x26FD, 0x2705,
            0x270A...0x270B, 0x2728, 0x274C, 0x274E, 0x2753...0x2755, 0x2757, 0x2795...0x2797, 0x27B0, 0x27BF,
            0x2B1B...0x2B1C, 0x2B50, 0x2B55, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
            0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
            0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF,
            0x1F004, 0x1F0CF, 0x1F18E, 0x1F191...0x1F19A, 0x1F200...0x1F251, 0x1F300...0x1F320, 0x1F32D...0x1F335,
            0x1F337...0x1F37C, 0x1F37E...0x1F393, 0x1F3A0...0x1F3CA, 0x1F3CF...0x1F3D3, 0x1F3E0...0x1F3F0,
            0x1F3F4, 0x1F3F8...0x1F43E, 0x1F440, 0x1F442...0x1F4FC, 0x1F4FF...0x1F53D, 0x1F54B...0x1F54E,
            0x1F550...0x1F567, 0x1F57A, 0x1F595...0x1F596, 0x1F5A4, 0x1F5FB...0x1F64F, 0x1F680...0x1F6C5,
            0x1F6CC, 0x1F6D0...0x1F6D2, 0x1F6D5...0x1F6D7, 0x1F6EB...0x1F6EC, 0x1F6F4...0x1F6FC, 0x1F7E0...0x1F7EB,
            0x1F90C...0x1F93A, 0x1F93C...0x1F945, 0x1F947...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD,
            0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}

extension StringProtocol {
    /// How many terminal cells the text takes.
    public var displayWidth: Int {
        // Printable ASCII, nearly every id and address, is a cell a byte: no grapheme breaking for it.
        if utf8.allSatisfy({ (0x20..<0x7F).contains($0) }) { return utf8.count }
        return reduce(0) { $0 + $1.displayWidth }
    }

    /// The text cut to at most `width` cells, ending in `…` when something was cut.
    public func truncated(toWidth width: Int) -> String {
        guard width > 0 else { return "" }
        if displayWidth <= width { return String(self) }
        var result = ""
        var used = 0
        for character in self {
            let next = character.displayWidth
            if used + next > width - 1 { break }
            result.append(character)
            used += next
        }
        return result + "…"
    }

    /// The text cut or padded with spaces to exactly `width` cells.
    public func padded(toWidth width: Int) -> String {
        let text = truncated(toWidth: width)
        return text + String(repeating: " ", count: Swift.max(0, width - text.displayWidth))
    }

    /// The text cut or padded on the left to exactly `width` cells.
    public func rightAligned(toWidth width: Int) -> String {
        let text = truncated(toWidth: width)
        return String(repeating: " ", count: Swift.max(0, width - text.displayWidth)) + text
    }
}
