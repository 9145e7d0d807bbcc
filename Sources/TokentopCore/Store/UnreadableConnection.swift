import Foundation

/// A stored connection whose row this tokentop cannot read: a value edited in by hand, or written by a newer
/// version (a scope or grant it does not know). It is left out of the fleet instead of failing every read of the
/// store, and named wherever the fleet is shown: one damaged row stopped a daemon from refreshing the other 99,999.
public struct UnreadableConnection: Sendable, Equatable {
    /// The row's id, as stored.
    public var id: String
    /// What is wrong with it and what to do, naming the store, the column and the row.
    public var problem: String

    public init(id: String, problem: String) {
        self.id = id
        self.problem = problem
    }
}

extension UnreadableConnection {
    /// How many ids a summary names before it counts the rest.
    static let named = 10

    /// One sentence for `unreadable`, naming the first ids, for a command's standard error, the dashboard's notice,
    /// a check's line and a daemon's log; nil when there are none.
    public static func summary(_ unreadable: [UnreadableConnection]) -> String? {
        guard !unreadable.isEmpty else { return nil }
        let ids = unreadable.prefix(named).map { SafeText.name($0.id) }.joined(separator: ", ")
        let more = unreadable.count > named ? " and \(unreadable.count - named) more" : ""
        let one = unreadable.count == 1
        let count = one ? "1 stored connection" : "\(unreadable.count) stored connections"
        return "\(count) cannot be read and \(one ? "is" : "are") left out, not refreshed: \(ids)\(more); "
            + "`tokentop show ID` says why"
    }

    /// What an operator asking for `id` by name is told when its row cannot be read.
    public var refusal: String { "\(SafeText.name(id)) cannot be read: \(problem)" }
}

extension Store {
    /// Decodes `row` into `rows`, or, when its values cannot be read, names it in `unreadable`.
    ///
    /// Only the decoding of values is caught: a failure of the database itself (a damaged page, an I/O error) is
    /// thrown by the query around it, as before.
    func take(
        _ row: SQLRow, into rows: inout [Connection], unreadable: inout [UnreadableConnection], cache: inout RowCache
    ) {
        do {
            rows.append(try connection(from: row, cache: &cache))
        } catch {
            unreadable.append(UnreadableConnection(id: row.string(0) ?? "", problem: "\(error)"))
        }
    }
}
