import Foundation

/// A value bound to a statement parameter, in the form both engines take; also a column's value as read.
enum SQLValue: Equatable {
    case null
    case text(String)
    case integer(Int)
    case real(Double)
    case blob([UInt8])
}

/// A Swift value that can be bound to a statement parameter of either engine.
protocol SQLBindable {
    /// The value as the engines bind it.
    var sqlValue: SQLValue { get }
}

/// A value read from one engine binds unchanged to the other, which is how an export copies rows.
extension SQLValue: SQLBindable {
    var sqlValue: SQLValue { self }
}

extension String: SQLBindable {
    var sqlValue: SQLValue { .text(self) }
}

extension Int: SQLBindable {
    var sqlValue: SQLValue { .integer(self) }
}

extension Double: SQLBindable {
    var sqlValue: SQLValue { .real(self) }
}

/// Stored as 0 or 1 in an integer column, the same in both engines.
extension Bool: SQLBindable {
    var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

/// Dates are stored as seconds since 1970 in a floating-point column, which sort and compare in SQL.
extension Date: SQLBindable {
    var sqlValue: SQLValue { .real(timeIntervalSince1970) }
}

extension Array: SQLBindable where Element == UInt8 {
    var sqlValue: SQLValue { .blob(self) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    var sqlValue: SQLValue {
        switch self {
        case .some(let value): value.sqlValue
        case .none: .null
        }
    }
}
