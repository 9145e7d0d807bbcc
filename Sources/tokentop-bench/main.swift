import Foundation

// tokentop-bench: the figures of issue 5. Without --phase it orchestrates; with --phase it is one phase's process.
if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
    print(BenchOptions.usage)
    exit(0)
}
do {
    let options = try BenchOptions(Array(CommandLine.arguments.dropFirst()))
    switch options.phase {
    case nil:
        try await Bench(options: options).run()
    case "frames":
        let figures = try await FramePhase(options: options, startedAt: options.startedAt).run()
        for (name, value) in figures { print("\(name) \(value)") }
    case let name?:
        guard let kind = RefreshPhase.Kind(rawValue: name) else { throw BenchError("unknown phase \(name)") }
        let figures = try await RefreshPhase(options: options, kind: kind).run()
        for (name, value) in figures { print("\(name) \(value)") }
    }
} catch {
    FileHandle.standardError.write(Data("tokentop-bench: \(error)\n".utf8))
    exit(1)
}
