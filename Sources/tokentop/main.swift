import Foundation
import TokentopCore

// The executable only parses the command line and wires the core to the front end; see Runner.

// Before anything opens a file: a closed stderr must not become the number of the first file opened.
StandardDescriptors.openClosedOnes()

let invocation: Invocation
let arguments = Array(CommandLine.arguments.dropFirst())
// A monitor reads exit 1 from `status` as WARNING: a check whose verdict could not be written is UNKNOWN.
let unwritten = Invocation.verb(of: arguments) == "status" ? StatusSummary.unknownExitCode : 1
do {
    invocation = try Invocation.parse(arguments)
} catch {
    // A monitor reads exit 2 from `status` as CRITICAL: a check that cannot run is UNKNOWN, with its one line on
    // stdout, the check's contract (said on stderr too, a monitor that keeps both would show it twice).
    if Invocation.verb(of: arguments) == "status" {
        Output.out("UNKNOWN: " + SafeText.clean("\(error)"))
        exit(Output.finish(StatusSummary.unknownExitCode, unwritten: unwritten))
    }
    Output.error("\(error)\nRun 'tokentop --help' for usage.")
    exit(2)
}

do {
    exit(Output.finish(try await Runner(invocation: invocation).run(), unwritten: unwritten))
} catch {
    Output.error("\(error)")
    exit(Output.finish(1, unwritten: unwritten))
}
