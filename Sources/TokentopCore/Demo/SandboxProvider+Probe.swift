import Foundation

/// The sandbox's API endpoint that static credentials are probed at: it answers as an API answers a key.
extension SandboxProvider {
    /// `GET /v1/me`: 200 for a key or `user:password` the provider accepts, 401 otherwise.
    func probe(_ request: HTTPRequest, provider: String, registry: Registry) -> HTTPResponse {
        let presented: String?
        if let header = request.header("Authorization"), header.hasPrefix("Basic ") {
            presented = Data(base64Encoded: String(header.dropFirst(6))).map { String(decoding: $0, as: UTF8.self) }
        } else {
            switch registry.placements[provider] {
            case nil:
                presented = request.header("Authorization").flatMap {
                    $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil
                }
            case .some(let placement) where placement.location == .header:
                presented = request.header(placement.name)
            case .some(let placement):
                let items = URLComponents(url: request.url, resolvingAgainstBaseURL: false)?.queryItems ?? []
                presented = items.first { $0.name == placement.name }?.value
            }
        }
        guard let presented, registry.staticSecrets[presented] == provider else {
            return Self.json(401, ["error": "invalid_api_key", "message": "Invalid API key or credentials."])
        }
        return Self.json(200, ["account": "\(provider)-demo", "livemode": false])
    }
}
