import Foundation

/// glibc's spawn actions that Swift's Glibc module leaves undeclared, found when first used.
///
/// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34) closes in the child every descriptor from a number up,
/// whatever was open at the moment of the spawn: a child keeps only what it is given, and nothing another thread
/// opened meanwhile (a pipe, a socket without close-on-exec) reaches it, nor a process it leaves behind.
public enum SpawnActions {
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias ChangeDirectory =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static let closeFrom: CloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let changeDirectory: ChangeDirectory? = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<Function>(_ name: String) -> Function? {
        dlsym(dlopen(nil, RTLD_NOW), name).map { unsafeBitCast($0, to: Function.self) }
    }

    /// Adds the closing of every descriptor from `first` up; false when this C library cannot (before glibc 2.34).
    public static func closeFrom(_ first: Int32, in actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let closeFrom else { return false }
        return closeFrom(&actions, first) == 0
    }

    /// Adds a change of directory to `path`; false when this C library cannot (before glibc 2.29).
    public static func changeDirectory(to path: String, in actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let changeDirectory else { return false }
        return changeDirectory(&actions, path) == 0
    }
}
