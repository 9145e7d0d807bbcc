import Foundation

/// A stored connection whose row this tokentop cannot read: a value edited in by hand, or written by a newer
/// version (a scope or grant it does not know). It is left out of the fleet instead of failing every read of the
/// store, and named wherever the fleet is shown: one damaged row stopped a daemon from refreshing the other 99,999.
public struct UnreadableConnection: Error, Sendable, Equatable {
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
        let one = unreadable.count == 1
        let count = one ? "1 stored connection" : "\(unreadable.count) stored connections"
        // The remedy before the ids: a line cut at the screen's edge loses ids, not what to do.
        return "\(count) cannot be read, left out and not refreshed (`tokentop show ID` says why): "
            + listed(unreadable)
    }

    /// The dashboard's notice line for `unreadable`, short enough that at 80 columns the ids show: the count, the
    /// command that says why, then the ids; nil when there are none.
    public static func notice(_ unreadable: [UnreadableConnection]) -> String? {
        guard !unreadable.isEmpty else { return nil }
        return "\(unreadable.count) unreadable, not refreshed (`tokentop show ID`): \(listed(unreadable))"
    }

    /// The first ``named`` ids, and how many more there are.
    private static func listed(_ unreadable: [UnreadableConnection]) -> String {
        let ids = unreadable.prefix(named).map { SafeText.name($0.id) }.joined(separator: ", ")
        return ids + (unreadable.count > named ? " and \(unreadable.count - named) more" : "")
    }

    /// What an operator asking for `id` by name is told when its row cannot be read.
    public var refusal: String { "\(SafeText.name(id)) cannot be read: \(problem)" }
}

extension Store {
    /// The connection named `id`, nil when there is none, or the row's problem when its values cannot be read.
    func readableConnection(_ id: String) throws -> Result<Connection, UnreadableConnection>? {
        do {
            return try loadConnection(id).map { .success($0) }
        } catch let error as StoreError where error.isUnreadableRow {
            return .failure(UnreadableConnection(id: id, problem: "\(error)"))
        }
    }

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
