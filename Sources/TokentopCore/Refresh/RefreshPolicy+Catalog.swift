import Foundation

extension RefreshPolicy {
    /// How long a token whose answer gave no expiry is taken to live, and where that figure comes from: the
    /// provider catalog's documented default for `provider`, or else ``unknownExpiryLifetime``.
    func assumedLifetime(provider: String) -> (seconds: Double, source: String) {
        if let documented = CatalogDefaults.catalog?.profile(id: provider)?.defaultAccessTokenLifetime,
            documented > 0
        {
            return (Double(documented), "\(provider)'s documented default")
        }
        return (unknownExpiryLifetime, "tokentop's default for providers that do not say")
    }

    /// The delay before retrying a refresh whose answer was lost: within the provider's grace window for replaying
    /// a rotated refresh token (a third of it, at least a second), when the catalog documents one and `backoff`
    /// would miss it; otherwise `backoff`.
    func lostAnswerRetry(provider: String, backoff: Double) -> Double {
        guard let grace = CatalogDefaults.catalog?.profile(id: provider)?.rotationGrace, grace > 0 else {
            return backoff
        }
        return min(backoff, max(1, Double(grace) / 3))
    }

    /// The history note for a token that lives less than ``minimumInterval``: it is stored as the provider said, but
    /// not renewed sooner, so it is expired part of the time.
    func shortLifetimeNote(_ lifetime: Double) -> String {
        "the answer gave the token \(String(format: "%g", lifetime)) s to live, shorter than the "
            + "\(String(format: "%g", minimumInterval)) s tokentop waits between refreshes: it is expired until the "
            + "next one"
    }
}
