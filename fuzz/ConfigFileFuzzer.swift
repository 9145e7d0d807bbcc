import Foundation

/// libFuzzer entry for the configuration file reader (``ConfigFile/parse(_:source:)``): each input is a config
/// file. Refusing it with a ``ConfigError`` is fine; any other error, a crash, or settings outside the ranges the
/// reader promises are findings.
@_cdecl("LLVMFuzzerTestOneInput")
public func configFileFuzzerInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        let settings = try ConfigFile.parse(Data(bytes: data, count: size), source: "fuzz.json")
        if let problem = ConfigFuzzPromises.check(settings) { fatalError("a promise broken: \(problem)") }
    } catch is ConfigError {
    } catch {
        fatalError("not a ConfigError: \(type(of: error))")
    }
    return 0
}
