/// A JWS signature algorithm tokentop signs assertions with (RFC 7518 §3.1).
public enum SigningAlgorithm: String, Sendable, CaseIterable, Codable {
    /// RSASSA-PKCS1-v1_5 with SHA-256, on an RSA key of at least 2048 bits.
    case rs256 = "RS256"
    /// ECDSA on the P-256 curve with SHA-256; signatures in the JWS raw `r || s` form.
    case es256 = "ES256"

    /// What a key must be for this algorithm, as error messages say it.
    var requirement: String {
        switch self {
        case .rs256: "an RSA key of at least \(SigningKey.minimumRSABits) bits"
        case .es256: "an EC key on the P-256 curve (prime256v1)"
        }
    }
}
