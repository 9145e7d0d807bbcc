import Foundation

@testable import TokentopCore

/// Imports `connections` (import-file objects) into `store` under the sandbox's `acme` integration, whose client is
/// `client-acme` with the secret `fake-client-secret`.
func importSandboxAcme(_ connections: [[String: Any]], into store: Store, at: Date) throws {
    let data = try JSONSerialization.data(withJSONObject: [
        "integrations": [
            [
                "id": "acme", "provider": "acme", "token_url": SandboxProvider.tokenURL("acme").absoluteString,
                "client_id": "client-acme", "client_secret": "fake-client-secret",
            ]
        ],
        "connections": connections,
    ])
    _ = try store.importBundle(try ImportFile.parse(data, source: "test"), at: at)
}
