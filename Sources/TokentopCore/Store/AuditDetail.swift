import Foundation

/// The masking of an audit entry's detail before it is stored.
///
/// A detail quotes errors, and an error may quote a provider's answer, so every run of 20 or more token characters
/// is masked (``SecretMasking``). A file path is such a run too, and cannot be told from a token by its look: a
/// base64 token holds `/` as well. So only names known to be no secret are left as they are: the entry's target
/// (the file the operator named, already stored in plain text beside the detail), the store's own name and the key
/// file's path. Each is kept only where it stands as a whole run, with no token character right before or after it,
/// so that no part of a longer run, which might be a secret, ever escapes the mask.
enum AuditDetail {
    /// Error codes kept as they are, since a provider's `temporarily_unavailable` read `[masked]`: every failure
    /// reason the metrics know (the OAuth RFCs' and tokentop's own), and those of sign-ins and revocations.
    static let errorCodes =
        RefreshMetrics.reasons.sorted() + [
            "authorization_pending", "interaction_required", "account_selection_required", "invalid_client_metadata",
            "invalid_redirect_uri", "revocation_interrupted", "no_device_authorization_endpoint",
            "no_revocation_endpoint",
        ]

    /// `detail` with every token-like run masked, except the whole runs that are exactly one of `names` or one of
    /// ``errorCodes``.
    static func masked(_ detail: String, keeping names: [String]) -> String {
        let names = Set(names.filter { !$0.isEmpty } + errorCodes)
        guard !names.isEmpty else { return SecretMasking.mask(detail) }
        var result = ""
        var rest = detail[...]
        while let kept = firstWholeRun(of: names, in: rest, of: detail) {
            result += SecretMasking.mask(String(rest[..<kept.lowerBound])) + rest[kept]
            rest = rest[kept.upperBound...]
        }
        return result + SecretMasking.mask(String(rest))
    }

    /// The earliest place in `rest` where one of `names` stands as a whole run of `detail`; the longest name wins a
    /// tie.
    private static func firstWholeRun(
        of names: Set<String>, in rest: Substring, of detail: String
    ) -> Range<String.Index>? {
        var best: Range<String.Index>?
        for name in names {
            var from = rest.startIndex
            while from < rest.endIndex, let found = rest.range(of: name, range: from..<rest.endIndex) {
                if stands(found, in: detail) {
                    if best == nil || found.lowerBound < best!.lowerBound
                        || (found.lowerBound == best!.lowerBound && found.upperBound > best!.upperBound)
                    {
                        best = found
                    }
                    break
                }
                from = rest.index(after: found.lowerBound)
            }
        }
        return best
    }

    /// Whether the characters on either side of `range` end a run: the text's ends, or a character no token has.
    private static func stands(_ range: Range<String.Index>, in text: String) -> Bool {
        if range.lowerBound > text.startIndex, isTokenCharacter(text[text.index(before: range.lowerBound)]) {
            return false
        }
        if range.upperBound < text.endIndex, isTokenCharacter(text[range.upperBound]) { return false }
        return true
    }

    /// The characters ``SecretMasking/mask(_:)`` counts into a run; AuditDetailTests holds the two to the same set.
    static func isTokenCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || "-._~+/=\\%".contains(character)
    }
}
