/// A terminal's size in character cells.
struct TerminalSize: Hashable, Sendable, CustomStringConvertible {
    var rows: Int
    var columns: Int

    /// The smallest size the full dashboard is drawn at.
    static let minimum = TerminalSize(rows: 24, columns: 80)

    var isLargeEnough: Bool { rows >= Self.minimum.rows && columns >= Self.minimum.columns }

    var description: String { "\(columns)×\(rows)" }
}
