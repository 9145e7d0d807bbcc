import Testing

@testable import TokentopCore

/// How messages name a store: a PostgreSQL URL keeps what says where it connects, never a password.
struct StoreLocationTests {
    @Test func aURLIsShownWithItsParametersButNoPassword() {
        let url = "postgres://ops:fake-pw-0001@127.0.0.1:5432/tokentop?host=/run/other&password=fake-pw-0002"
            + "&SSLPassword=fake-pw-0003&sslmode=require"
        let shown = Store.displayName(url)
        #expect(shown == "postgres://ops@127.0.0.1:5432/tokentop?host=/run/other&sslmode=require")
        #expect(Store.displayName("postgres://ops@db.example/tokentop?password=fake-pw-0004")
            == "postgres://ops@db.example/tokentop")
    }
}
