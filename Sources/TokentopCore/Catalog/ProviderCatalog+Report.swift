import Foundation

extension ProviderCatalog {
    /// `tokentop providers`: an aligned text table with one row per provider.
    ///
    /// Columns: ID, NAME, GRANTS (comma-separated, `—` for none), ROTATION (`rotates`, `reuses` or `unknown`),
    /// REVOCATION and DEVICE (`yes` when the catalog records an RFC 7009 or RFC 8628 endpoint, `unknown` when it
    /// records none: the catalog holds only what the docs state, and a null endpoint is not a documented absence).
    public func reportTable() -> String {
        var rows = [["ID", "NAME", "GRANTS", "ROTATION", "REVOCATION", "DEVICE"]]
        for profile in providers {
            rows.append([
                profile.id, profile.name,
                profile.grants.isEmpty ? "—" : profile.grants.map(\.rawValue).joined(separator: ","),
                Self.rotationWord(profile.refreshTokenRotates), Self.endpointWord(profile.revocationURL),
                Self.endpointWord(profile.deviceAuthorizationURL),
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `tokentop providers --json`: one JSON array in catalog order, keys sorted, in the catalog file's own
    /// field names (see `docs/provider-catalog.md`), with `null` for every undocumented fact.
    public func reportJSON() -> String {
        let array = providers.map(Self.reportObject)
        let data =
            (try? JSONSerialization.data(
                withJSONObject: array, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// One provider as a JSON object with the catalog's field names.
    static func reportObject(_ profile: ProviderProfile) -> [String: Any] {
        func orNull(_ value: Any?) -> Any { value ?? NSNull() }
        return [
            "id": profile.id,
            "name": profile.name,
            "token_url": profile.tokenURL,
            "revocation_url": orNull(profile.revocationURL),
            "device_authorization_url": orNull(profile.deviceAuthorizationURL),
            "authorization_url": orNull(profile.authorizationURL),
            "client_auth": orNull(profile.clientAuth?.map(\.rawValue)),
            "refresh_token_rotates": orNull(profile.refreshTokenRotates),
            "refresh_token_idle_lifetime_seconds": orNull(profile.refreshTokenIdleLifetime),
            "refresh_token_absolute_lifetime_seconds": orNull(profile.refreshTokenAbsoluteLifetime),
            "rotation_grace_seconds": orNull(profile.rotationGrace),
            "default_access_token_lifetime_seconds": orNull(profile.defaultAccessTokenLifetime),
            "quirks": [
                "errors_with_http_200": profile.quirks.errorsWithHTTP200,
                "form_encoded_unless_accept_json": profile.quirks.formEncodedUnlessAcceptJSON,
                "non_rfc_error_shape": orNull(profile.quirks.nonRFCErrorShape),
            ] as [String: Any],
            "grants": profile.grants.map(\.rawValue),
            "identity_models": profile.identityModels.map(\.rawValue),
            "sources": profile.sources.map(\.absoluteString),
            "notes": orNull(profile.notes),
        ]
    }

    /// `yes` for a recorded endpoint; `unknown` for null, which says only that the pages read document none.
    static func endpointWord(_ url: String?) -> String {
        url == nil ? "unknown" : "yes"
    }

    static func rotationWord(_ rotates: Bool?) -> String {
        switch rotates {
        case .some(true): "rotates"
        case .some(false): "reuses"
        case .none: "unknown"
        }
    }
}
