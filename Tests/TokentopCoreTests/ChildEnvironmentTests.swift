import Testing

@testable import TokentopCore

/// The environment every child of tokentop gets: this process's, without key material or the store's credentials.
struct ChildEnvironmentTests {
    @Test func theKeysTheStoreAndItsPasswordAreWithheldAndTheRestKept() {
        let environment = [
            "PATH": "/usr/bin:/bin", "HOME": "/home/op", "DISPLAY": ":0", "TOKENTOP_CONFIG": "/etc/tokentop.json",
            "TOKENTOP_KEY": "fake-key-0001", "TOKENTOP_NEW_KEY": "fake-key-0002",
            "TOKENTOP_STORE": "postgres://ops:fake-pg-password-0002@127.0.0.1:5432/fleet",
            "TOKENTOP_DB": "postgres://ops:fake-pg-password-0003@127.0.0.1:5432/fleet",
            "PGPASSWORD": "fake-pg-password-0004", "PGHOST": "127.0.0.1",
        ]
        #expect(
            ChildEnvironment.variables(environment) == [
                "PATH": "/usr/bin:/bin", "HOME": "/home/op", "DISPLAY": ":0", "TOKENTOP_CONFIG": "/etc/tokentop.json",
                "PGHOST": "127.0.0.1",
            ])
        #expect(
            ChildEnvironment.withheld == [
                "TOKENTOP_KEY", "TOKENTOP_NEW_KEY", "TOKENTOP_STORE", "TOKENTOP_DB", "PGPASSWORD",
            ])
    }
}
