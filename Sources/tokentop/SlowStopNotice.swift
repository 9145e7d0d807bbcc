import Dispatch
import TokentopCore

/// Says once on stderr what a dashboard's stop waits for when it takes longer than a moment: revocations that went
/// to the provider after the stop began, or the store, with the problem the engine last met there (another
/// process's lock), so that the prompt's delay is never silent.
///
/// It looks twice a second from a Dispatch timer, not a task: while the store holds tokentop's statements, those
/// may hold every thread of the cooperative pool.
final class SlowStopNotice: @unchecked Sendable {
    // @unchecked Sendable: `looks` and `said` are only touched on `queue`, the timer's serial queue.
    private let queue = DispatchQueue(label: "tokentop.slow-stop")
    private let timer: DispatchSourceTimer
    private var looks = 0
    private var said = false

    /// How many looks (half a second apart) pass before a stop counts as slow without a database problem in sight.
    private static let quietLooks = 10

    /// Starts looking; ``cancel()`` ends it when the stop is done.
    /// - Parameter storeName: the store as messages name it.
    init(engine: Engine, storeName: String) {
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [unowned self] in self.look(engine, storeName) }
        timer.resume()
    }

    /// Stops looking; nothing more is said.
    func cancel() {
        timer.cancel()
        // Waits for a look in progress: nothing may be said after the stop.
        queue.sync {}
    }

    private func look(_ engine: Engine, _ storeName: String) {
        guard !said else { return }
        looks += 1
        // A revocation that was still waiting for its lease when the stop began, and has sent its request since.
        let revocations = engine.inFlight.revocations
        if revocations > 0, looks >= 2 {
            said = true
            Output.error(
                "stopping: waiting for \(counted(revocations, "revocation", "revocations")) in flight to be answered "
                    + "by the provider and recorded (at most 30s for each answer); Ctrl-C stops now, and records "
                    + "\(revocations == 1 ? "it" : "them") as interrupted")
            return
        }
        let notice = engine.snapshot().notice.flatMap(Self.databaseProblem)
        // After a second when the store is known to be in trouble; after five seconds in any case.
        guard (looks >= 2 && notice != nil) || looks >= Self.quietLooks else { return }
        said = true
        let why = notice.map { ": \($0)" } ?? ""
        Output.error(
            "stopping: waiting for \(storeName) to take this dashboard's last writes\(why); each statement gives up "
                + "within seconds; Ctrl-C stops now")
    }

    /// The database problem a notice names, without its advice; nil for any other notice.
    static func databaseProblem(_ notice: String) -> String? {
        let prefix = "database problem: "
        guard notice.hasPrefix(prefix) else { return nil }
        let problem = notice.dropFirst(prefix.count)
        return String(problem.split(separator: ";", maxSplits: 1).first ?? problem)
    }
}
