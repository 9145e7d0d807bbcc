import Foundation

/// Where the browser comes back to: a loopback redirect URI (RFC 8252 §7.3).
///
/// Without a registered redirect URI, tokentop uses `http://127.0.0.1:PORT/callback` with a port the kernel
/// picks, which every RFC 8252 server accepts for a registered `http://127.0.0.1/callback`. A registered URI with
/// a port pins that port; one without lets the kernel pick.
struct LoopbackRedirect: Sendable, Equatable {
    /// The host as the redirect URI names it: `127.0.0.1` or `localhost`; the listener binds 127.0.0.1 either way.
    let host: String
    /// The port to bind; 0 lets the kernel pick.
    let port: UInt16
    /// The path the provider redirects to, starting with `/`.
    let path: String

    static let defaultPath = "/callback"

    /// The redirect for `registered`, the integration's redirect URI.
    /// - Throws: ``ReauthFailure`` with `configuration` when it is not an `http` loopback URI this listener can
    ///   serve.
    init(registered: String?, integrationID: String) throws(ReauthFailure) {
        guard let registered, !registered.isEmpty else {
            self.init(host: "127.0.0.1", port: 0, path: Self.defaultPath)
            return
        }
        func refuse(_ why: String) -> ReauthFailure {
            ReauthFailure(
                .configuration,
                "integration \(integrationID)'s redirect_uri \(SafeText.clean(registered)) \(why); a terminal "
                    + "sign-in needs a loopback one such as http://127.0.0.1/callback (RFC 8252), or a "
                    + "device_authorization_url")
        }
        guard let components = URLComponents(string: registered), components.scheme?.lowercased() == "http",
            let host = components.host?.lowercased()
        else { throw refuse("is not an http URI") }
        guard host == "127.0.0.1" || host == "localhost" else {
            // The IPv6 loopback is this machine too, but the listener takes IPv4 only.
            throw refuse(
                ["::1", "[::1]"].contains(host)
                    ? "is the IPv6 loopback, where tokentop does not listen; register http://127.0.0.1 instead"
                    : "does not point at this machine")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            throw refuse("has a query, fragment or user part")
        }
        guard let port = UInt16(exactly: components.port ?? 0) else { throw refuse("has an invalid port") }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.init(host: host, port: port, path: path)
    }

    init(host: String, port: UInt16, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    /// The redirect URI sent to the provider, with the port the listener actually bound.
    func uri(boundPort: UInt16) -> String { "http://\(host):\(boundPort)\(path)" }
}
