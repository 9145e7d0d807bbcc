import Foundation
import Testing
import TokentopTestSupport

@testable import TokentopCore

/// The PostgreSQL fixture that the store's tests on PostgreSQL stand on: a fresh, empty database per call, psql to
/// look at rows, and a drop that leaves nothing behind.
@Suite(.enabled(if: PostgresServer.isAvailable, "needs PostgreSQL: scripts/postgres start failed (reason on stderr)"))
struct PostgresFixtureTests {
    /// Tables, views and sequences a test could have left, outside PostgreSQL's own schemas.
    let userRelations = """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        """

    @Test func twoFreshDatabasesAreDistinctAndEmpty() throws {
        let first = try PostgresServer.freshDatabase(label: "fixture first")
        defer { try? PostgresServer.dropDatabase(first) }
        let second = try PostgresServer.freshDatabase(label: "fixture first")
        defer { try? PostgresServer.dropDatabase(second) }

        #expect(first != second)
        #expect(first.hasPrefix("postgres://tokentop@127.0.0.1:"))
        let firstName = try PostgresServer.psql(first, "SELECT current_database()")
        let secondName = try PostgresServer.psql(second, "SELECT current_database()")
        #expect(firstName.hasPrefix("tt_fixture_first_"))
        #expect(firstName != secondName)
        #expect(try PostgresServer.psql(first, userRelations) == "0")
        #expect(try PostgresServer.psql(second, userRelations) == "0")

        // A table made in one is not in the other.
        try PostgresServer.psql(first, "CREATE TABLE marker (id int)")
        #expect(try PostgresServer.psql(first, userRelations) == "1")
        #expect(try PostgresServer.psql(second, userRelations) == "0")
    }

    @Test func psqlRoundTripsRowsAndColumns() throws {
        let url = try PostgresServer.freshDatabase(label: "round trip")
        defer { try? PostgresServer.dropDatabase(url) }

        try PostgresServer.psql(
            url,
            """
            CREATE TABLE tokens (id text PRIMARY KEY, failures int, last_error text);
            INSERT INTO tokens VALUES ('acme-1', 0, NULL), ('acme-2', 3, 'invalid_grant')
            """)
        let rows = try PostgresServer.psql(url, "SELECT id, failures, last_error FROM tokens ORDER BY id")
        #expect(rows == "acme-1|0|\nacme-2|3|invalid_grant")
        #expect(try PostgresServer.psql(url, "SELECT count(*) FROM tokens WHERE id = 'missing'") == "0")
        #expect(try PostgresServer.psql(url, "SHOW server_encoding") == "UTF8")
    }

    @Test func aFailingStatementThrowsWithPostgresMessage() throws {
        let url = try PostgresServer.freshDatabase(label: "failure")
        defer { try? PostgresServer.dropDatabase(url) }

        let error = #expect(throws: PostgresServer.Failure.self) {
            try PostgresServer.psql(url, "SELECT * FROM no_such_table")
        }
        #expect(error?.description.contains("relation \"no_such_table\" does not exist") == true)
    }

    @Test func dropDatabaseRemovesItEvenWhileASessionIsOpen() throws {
        let url = try PostgresServer.freshDatabase(label: "drop")
        let name = try PostgresServer.psql(url, "SELECT current_database()")
        let admin = try PostgresServer.adminURL()
        let exists = "SELECT count(*) FROM pg_database WHERE datname = '\(name)'"
        #expect(try PostgresServer.psql(admin, exists) == "1")

        // A session that stays connected, as a store a failed test did not close would: the drop ends it. It is
        // this process's own, connected once it is made; a psql started for it was twice not seen connected
        // within 30 s under a full run's load.
        let session = try PostgresDatabase(url: url)
        let sessions =
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(name)' AND backend_type = 'client backend'"
        #expect(try PostgresServer.psql(admin, sessions) == "1")

        try PostgresServer.dropDatabase(url)
        #expect(try PostgresServer.psql(admin, exists) == "0")
        #expect(throws: PostgresServer.Failure.self) { try PostgresServer.psql(url, "SELECT 1") }
        #expect(throws: StoreError.self, "the session outlived the drop") { try session.execute("SELECT 1", []) }
        // Dropping twice is harmless: cleanup code may run after a test already dropped its database.
        try PostgresServer.dropDatabase(url)
    }

    @Test func dropDatabaseRefusesDatabasesItDidNotMake() throws {
        let admin = try PostgresServer.adminURL()
        #expect(throws: PostgresServer.Failure.self) { try PostgresServer.dropDatabase(admin) }
        #expect(try PostgresServer.psql(admin, "SELECT current_database()") == "postgres")
    }
}
