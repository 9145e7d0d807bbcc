import Foundation
import TokentopCore

// The executable only parses the command line and wires the core to the front end; see Runner.

// Before anything opens a file: a closed stderr must not become the number of the first file opened.
StandardDescriptors.openClosedOnes()

let invocation: Invocation
let arguments = Array(CommandLine.arguments.dropFirst())
do {
    invocation = try Invocation.parse(arguments)
} catch {
    // A monitor reads exit 2 from `status` as CRITICAL: a check that cannot run is UNKNOWN, with its one line on
    // stdout, the check's contract (said on stderr too, a monitor that keeps both would show it twice).
    if Invocation.verb(of: arguments) == "status" {
        Output.out("UNKNOWN: " + SafeText.clean("\(error)"))
        exit(Output.finish(StatusSummary.unknownExitCode))
    }
    Output.error("\(error)\nRun 'tokentop --help' for usage.")
    exit(2)
}

do {
    exit(Output.finish(try await Runner(invocation: invocation).run()))
} catch {
    Output.error("\(error)")
    exit(Output.finish(1))
}
