/// A theme file that cannot be used, with the place and the way to fix it.
public struct ThemeError: Error, Equatable, CustomStringConvertible {
    /// The file, as it was named when loading it.
    public var file: String
    /// The 1-based line, or nil when the whole file is the problem.
    public var line: Int?
    /// What is wrong and what would be accepted.
    public var message: String

    /// Creates an error about `file`, optionally at `line`.
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, the shape compilers use so that editors can jump to it.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
