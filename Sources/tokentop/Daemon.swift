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
            var seen = engine.snapshot().events.last?.at ?? .distantPast
            var outages: [String: ProviderOutage] = [:]
            while !Task.isCancelled {
                let snapshot = engine.snapshot()
                outages = logBreakers(snapshot.outages, previously: outages)
                for event in snapshot.events where event.at > seen {
                    var fields: [String: Any] = ["connection.id": event.connectionID, "detail": event.message]
                    if let error = event.error {
                        fields["error"] = error.error
                        fields["http.status"] = error.status ?? NSNull()
                    }
                    log(event.kind.rawValue, fields)
                    seen = event.at
                }
                try? await Task.sleep(nanoseconds: 200_000_000)
            }
        }
        for await number in stop {
            log("stopping", ["signal": number])
            break
        }
        await engine.stop()
        printer.cancel()
        log("daemon stopped", ["refreshes": engine.snapshot().refreshesHere])
        return 0
    }

    /// One line when a provider's breaker opens and one when it closes, instead of a line per held refresh.
    /// - Returns: the open breakers by provider, for the next look.
    private func logBreakers(
        _ outages: [ProviderOutage], previously: [String: ProviderOutage]
    ) -> [String: ProviderOutage] {
        let now = Date()
        let current = Dictionary(outages.map { ($0.provider, $0) }, uniquingKeysWith: { a, _ in a })
        for outage in outages where previously[outage.provider] == nil {
            log(
                "breaker_opened",
                [
                    "provider": outage.provider, "detail": outage.banner(at: now),
                    "error": outage.lastError?.error ?? NSNull(), "http.status": outage.lastError?.status ?? NSNull(),
                ])
        }
        for (provider, outage) in previously where current[provider] == nil {
            log(
                "breaker_closed",
                [
                    "provider": provider, "open_seconds": Int(now.timeIntervalSince(outage.since).rounded()),
                    "detail": "provider \(provider) answers again; held refreshes resume spread out",
                ])
        }
        return current
    }

    private func log(_ message: String, _ fields: [String: Any]) {
        var object = fields
        object["time"] = RFC3339.string(from: Date())
        object["msg"] = message
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        FileHandle.standardError.write(data + Data("\n".utf8))
    }
}
