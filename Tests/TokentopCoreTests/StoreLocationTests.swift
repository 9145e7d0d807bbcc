import Testing

@testable import TokentopCore

/// How messages name a store: a PostgreSQL URL keeps what says where it connects, never a password.
struct StoreLocationTests {
    /// A URL whose `options` set libpq's settings replaces tokentop's statement limit: a timeout names that, not
    /// tokentop's 30 seconds (a URL's 1 ms limit was reported as 30 seconds).
    @Test func aURLsOwnOptionsAreSeen() {
        #expect(PostgresDatabase.setsOptions("postgres://u@127.0.0.1:5432/db?options=-c%20statement_timeout%3D1"))
        #expect(!PostgresDatabase.setsOptions("postgres://u@127.0.0.1:5432/db?sslmode=disable"))
        #expect(!PostgresDatabase.setsOptions("postgres://u@127.0.0.1:5432/db?options="))
        #expect(!PostgresDatabase.setsOptions("postgres://u@127.0.0.1:5432/db"))
    }

    @Test func aURLIsShownWithItsParametersButNoPassword() {
        let url = "postgres://ops:fake-pw-0001@127.0.0.1:5432/tokentop?host=/run/other&password=fake-pw-0002"
            + "&SSLPassword=fake-pw-0003&sslmode=require"
        let shown = Store.displayName(url)
        #expect(shown == "postgres://ops@127.0.0.1:5432/tokentop?host=/run/other&sslmode=require")
        #expect(Store.displayName("postgres://ops@db.example/tokentop?password=fake-pw-0004")
            == "postgres://ops@db.example/tokentop")
    }
}
