import Foundation

/// Who is operating tokentop, as the audit log records it.
public enum OperatorIdentity {
    /// The effective user's login name from the password database, else `$USER`, else the numeric uid.
    public static func current() -> String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
            return String(cString: name)
        }
        return ProcessInfo.processInfo.environment["USER"] ?? "uid \(geteuid())"
    }
}
