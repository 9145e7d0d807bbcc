import Foundation

/// libFuzzer entry for ``ImportFile/parse(_:source:)``: each input is an import file. Refusing it with an
/// ``ImportError`` is fine; any other error or a crash is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func importFileFuzzerInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        _ = try ImportFile.parse(Data(bytes: data, count: size), source: "fuzz.json")
    } catch is ImportError {
    } catch {
        fatalError("not an ImportError: \(type(of: error))")
    }
    return 0
}
