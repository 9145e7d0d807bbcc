import Dispatch
import Foundation
import TokentopCore

/// `tokentop daemon`: the refresh actor without a terminal, logging JSON lines to stderr until SIGTERM or SIGINT.
struct Daemon {
    var engine: Engine

    func run() async -> Int32 {
        // A parent may have started us with these blocked (threads of a test runner do); we must hear them.
        var wanted = sigset_t()
        sigemptyset(&wanted)
        for number in [SIGTERM, SIGINT] { sigaddset(&wanted, number) }
        pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        let (stop, continuation) = AsyncStream<Int32>.makeStream()
        let sources = [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer { sources.forEach { $0.cancel() } }
        engine.start()
        log("daemon started", ["connections": engine.snapshot().connections.count])
        let printer = Task {
            var seen = engine.snapshot().eventsAppended
            while !Task.isCancelled {
                let snapshot = engine.snapshot()
                let unseen = min(snapshot.events.count, max(0, snapshot.eventsAppended - seen))
                for event in snapshot.events.suffix(unseen) {
                    var fields: [String: Any] = ["connection.id": event.connectionID, "detail": event.message]
                    if let error = event.error {
                        fields["error"] = error.error
                        fields["http.status"] = error.status ?? NSNull()
                    }
                    // Several processes may share the database: each logs what it did, and says so when it only
                    // saw another process's work.
                    fields["by"] = event.byAnotherProcess ? "another process" : "this daemon"
                    log(event.kind.rawValue, fields)
                }
                seen = snapshot.eventsAppended
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        for await number in stop {
            log("stopping", ["signal": number])
            break
        }
        await engine.stop()
        printer.cancel()
        log("daemon stopped", [:])
        return 0
    }

    private func log(_ message: String, _ fields: [String: Any]) {
        var object = fields
        object["time"] = RFC3339.string(from: Date())
        object["msg"] = message
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardError.write(data + Data("\n".utf8))
    }
}
