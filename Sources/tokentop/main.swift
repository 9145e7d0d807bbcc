import Foundation
import TokentopCore

// The executable only parses the command line and wires the core to the front end; see Runner.

let invocation: Invocation
do {
    invocation = try Invocation.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    Output.error("\(error)\nRun 'tokentop --help' for usage.")
    exit(2)
}

do {
    exit(Output.finish(try await Runner(invocation: invocation).run()))
} catch {
    Output.error("\(error)")
    exit(Output.finish(1))
}
