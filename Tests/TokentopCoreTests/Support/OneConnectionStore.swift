import Foundation

@testable import TokentopCore

/// A store in a fresh directory holding one integration (`integration`, also its provider, with token URL `tokenURL`)
/// and one user connection `connection` with a refresh token that expires in an hour; fake secrets.
func oneConnectionStore(integration: String, tokenURL: String, connection: String, at now: Date) throws -> Store {
    let directory = try temporaryDirectory()
    let store = try Store.open(path: directory.appendingPathComponent("t.sqlite3").path, secrets: .ephemeral())
    let file = """
        {"integrations": [{"id": "\(integration)", "provider": "\(integration)", "token_url": "\(tokenURL)",
          "client_id": "fake-client", "client_secret": "fake-client-secret-0001"}],
         "connections": [{"id": "\(connection)", "integration": "\(integration)", "scope": "user",
          "subject": "u@example.com", "access_token": "fake-at", "refresh_token": "fake-rt", "expires_in": 3600}]}
        """
    _ = try store.importBundle(try ImportFile.parse(Data(file.utf8), source: "test"), at: now)
    return store
}
