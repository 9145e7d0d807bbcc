import Foundation

/// Creates the directories that hold tokentop's files so that only their owner can enter them.
enum PrivateFiles {
    /// Creates `path` and any missing parents with mode 0700; an existing directory is left as it is.
    static func makeDirectory(_ path: String, for purpose: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw StoreError(
                    .cannotOpen, "cannot use \(path) for \(purpose): it exists and is not a directory",
                    path: path)
            }
            return
        }
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            // Another process starting at the same moment may have made it first.
            if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
            throw StoreError(
                .cannotOpen,
                "cannot create the directory \(path) for \(purpose) (\(error.localizedDescription)); create it "
                    + "yourself with `mkdir -p -m 700 \(path)`, or choose another location", path: path)
        }
    }

    /// A mode as `chmod` writes it, for example `0644`.
    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Whether the open `descriptor` is the file `path` names now: not one taken away, or replaced, since it was
    /// opened.
    static func isSameFile(_ descriptor: Int32, _ path: String) -> Bool {
        var open = stat()
        var named = stat()
        return fstat(descriptor, &open) == 0 && stat(path, &named) == 0 && open.st_dev == named.st_dev
            && open.st_ino == named.st_ino
    }
}
