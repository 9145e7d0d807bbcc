import Foundation

/// Finds the theme files shipped with tokentop from the running executable's real path.
///
/// Only fixed places beside the executable count, never the current directory: argv[0] may be a bare name found on
/// PATH, and a `themes/` folder above wherever the user happens to stand must not stand in for the shipped ones.
public enum ShippedThemesDirectory {
    /// The shipped `themes/` folder of the running executable, or nil when there is none (the built-in copies serve).
    public static func find() -> String? {
        runningExecutable().flatMap { find(executable: $0) }
    }

    /// The running executable's real path, from `/proc/self/exe`: right however the binary was started.
    static func runningExecutable() -> String? {
        guard let resolved = realpath("/proc/self/exe", nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The first of ``candidates(executable:)`` that holds `default.theme`.
    static func find(executable: String) -> String? {
        candidates(executable: executable).first {
            FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("default.theme"))
        }
    }

    /// Where an executable at the real path `executable` may find its themes, in order: the install layout
    /// (`<bindir>/../share/tokentop/themes`, as `make install` lays it out), then, for a binary inside a source
    /// checkout's `.build/`, the checkout's `themes/`.
    static func candidates(executable: String) -> [String] {
        let bin = (executable as NSString).deletingLastPathComponent
        let prefix = (bin as NSString).deletingLastPathComponent
        var result = [(prefix as NSString).appendingPathComponent("share/tokentop/themes")]
        // `.build/debug/tokentop`, or `.build/<triple>/debug/tokentop` once the `.build/debug` link is resolved.
        let parts = (bin as NSString).pathComponents
        for depth in [1, 2] where parts.count > depth + 1 && parts[parts.count - 1 - depth] == ".build" {
            let checkout = NSString.path(withComponents: Array(parts.prefix(parts.count - 1 - depth)))
            // A `.build` folder alone is not a checkout: the package manifest beside it says it is ours to read.
            guard FileManager.default.fileExists(atPath: (checkout as NSString).appendingPathComponent("Package.swift"))
            else { continue }
            result.append((checkout as NSString).appendingPathComponent("themes"))
        }
        return result
    }
}
