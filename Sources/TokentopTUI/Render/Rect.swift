/// A rectangle of cells on the screen.
struct Rect: Hashable, Sendable {
    var row: Int
    var column: Int
    var height: Int
    var width: Int

    var bottom: Int { row + height }

    /// A rectangle of `height` × `width` centred in this one.
    func centered(height: Int, width: Int) -> Rect {
        let height = min(height, self.height)
        let width = min(width, self.width)
        return Rect(
            row: row + (self.height - height) / 2, column: column + (self.width - width) / 2,
            height: height, width: width)
    }
}
