import Foundation

/// Who an OpenID Connect ID token says signed in, read from the token endpoint's own answer.
///
/// The token comes straight from the token endpoint over the connection tokentop opened, which OpenID Connect Core
/// §3.1.3.7 lets a client trust without checking the token's signature; only its claims are read, and nothing is
/// granted on them: they can only stop a sign-in as someone else from replacing a connection's tokens.
public struct SignedInUser: Sendable, Equatable {
    /// `sub`: the provider's own identifier of the user.
    public var subject: String?
    /// `email`.
    public var email: String?
    /// `preferred_username`, else Microsoft's `upn`.
    public var username: String?

    /// The claims of `idToken`, or nil when it is not a JWT (three base64url parts) whose payload is a JSON object.
    public static func read(idToken: String) -> SignedInUser? {
        let parts = idToken.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecoded(parts[1]),
            case .object(let claims)? = try? JSONValue.parse(payload)
        else { return nil }
        func text(_ name: String) -> String? {
            if case .string(let value)? = claims[name], !value.isEmpty { return value }
            return nil
        }
        let user = SignedInUser(
            subject: text("sub"), email: text("email"), username: text("preferred_username") ?? text("upn"))
        return user.subject == nil && user.email == nil && user.username == nil ? nil : user
    }

    /// Who signed in, when that is plainly not `subject`, the person a connection stands for: only when `subject`
    /// is an e-mail address and the token names one (its `email`, or a username that is one), and none of them is
    /// `subject` (letter case aside). Nil whenever the claims cannot tell, so that no sign-in is refused on a guess.
    public func contradiction(with subject: String) -> String? {
        guard Self.isEmailAddress(subject) else { return nil }
        let named = [email, username].compactMap { $0 }.filter(Self.isEmailAddress)
        guard let first = named.first else { return nil }
        let wanted = subject.lowercased()
        return named.contains { $0.lowercased() == wanted } ? nil : SafeText.clean(first)
    }

    private static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
    }

    private static func base64URLDecoded(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }
}
