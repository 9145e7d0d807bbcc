import Foundation
import Synchronization
import TokentopCore

/// The bare transport's rate: refresh-shaped POSTs in a loop, with the actor's concurrency, nothing parsed or
/// stored. It separates the HTTP path's share of `refresh_per_s` from the rest of a refresh.
enum TransportRate {
    static func measure(_ transport: any HTTPTransport, url: URL, concurrency: Int, seconds: Double) async -> Double {
        let request = HTTPRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data("grant_type=refresh_token&refresh_token=fake-refresh-token-rate".utf8))
        let start = Measure.monotonicNanoseconds()
        let deadline = start + UInt64(seconds * 1_000_000_000)
        let done = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var count = 0
                    while Measure.monotonicNanoseconds() < deadline {
                        guard let response = try? await transport.send(request), response.status == 200 else { break }
                        count += 1
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        return Double(done) / (Measure.milliseconds(since: start) / 1_000)
    }
}
