import Foundation

#if canImport(TokentopCore)
    import TokentopCore
#endif

/// What the configuration reader promises about any settings it accepts: every value inside the range the
/// documentation gives, so that no file can set a lead window of a year or a concurrency of zero.
///
/// `scripts/fuzz` compiles this file into the config-file fuzzer together with the core's sources (where there is
/// no `TokentopCore` to import), and `FuzzRegressionTests` checks the same promises over every saved input.
enum ConfigFuzzPromises {
    /// The first broken promise, or nil.
    static func check(_ settings: Settings) -> String? {
        if let lead = settings.leadSeconds, !(lead >= 10 && lead <= 86_400) { return "lead_seconds \(lead)" }
        if let concurrency = settings.concurrency, !(1...1024).contains(concurrency) {
            return "concurrency \(concurrency)"
        }
        if let timeout = settings.onEventTimeout, !(timeout > 0 && timeout <= 600) {
            return "on_event_timeout_seconds \(timeout)"
        }
        if let days = settings.historyDays, !(days >= 0 && days <= 36_500) { return "history_days \(days)" }
        if let theme = settings.theme, theme.isEmpty || theme.contains("/") || theme.hasSuffix(".theme") {
            return "theme \(theme.debugDescription)"
        }
        for (action, key) in settings.keys ?? [:] {
            guard Settings.bindableActions.contains(action) else { return "keys.\(action)" }
            guard key.unicodeScalars.count == 1, let scalar = key.unicodeScalars.first,
                scalar.value > 0x20, scalar.value < 0x7f
            else { return "keys.\(action) = \(key.debugDescription)" }
        }
        if let keys = settings.keys, Set(keys.values).count != keys.count { return "one key bound twice" }
        return nil
    }
}
