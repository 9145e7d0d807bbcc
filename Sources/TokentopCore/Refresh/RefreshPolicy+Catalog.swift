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
}
