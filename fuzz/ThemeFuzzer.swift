import Foundation

/// libFuzzer entry for the theme reader (``Theme/parse(_:file:base:)``): each input is a theme file. Refusing it
/// with a ``ThemeError`` is fine; any other error or a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func themeFuzzerInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        _ = try Theme.parse(String(decoding: Data(bytes: data, count: size), as: UTF8.self), file: "fuzz.theme")
    } catch is ThemeError {
    } catch {
        fatalError("not a ThemeError: \(type(of: error))")
    }
    return 0
}
