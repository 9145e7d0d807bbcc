import Foundation
import TokentopCore

// The executable only parses the command line and wires the core to the front end; see Runner.

let invocation: Invocation
do {
    invocation = try Invocation.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("tokentop: \(error)\nRun 'tokentop --help' for usage.\n".utf8))
    exit(2)
}

do {
    exit(try await Runner(invocation: invocation).run())
} catch {
    FileHandle.standardError.write(Data("tokentop: \(error)\n".utf8))
    exit(1)
}
