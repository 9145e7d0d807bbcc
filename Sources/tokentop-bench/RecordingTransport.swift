import Foundation
import Synchronization
import TokentopCore

/// The real transport, noting when each refresh request left and for which connection.
///
/// The benchmark's refresh tokens are `fake-refresh-token-<id>`, so the connection is read from the form body.
final class RecordingTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let sends = Mutex<[String: Date]>([:])
    private let answers = Atomic<Int>(0)
    private static let marker = Array("refresh_token=fake-refresh-token-".utf8)

    /// Whether send times are noted: only the lateness phase reads them, and noting costs the throughput phase.
    private let recording: Bool

    init(_ inner: any HTTPTransport, recording: Bool = true) {
        self.inner = inner
        self.recording = recording
    }

    /// When the first request for each connection was sent.
    var sendTimes: [String: Date] { sends.withLock { $0 } }

    /// How many answers arrived.
    var answered: Int { answers.load(ordering: .relaxed) }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let now = Date()
        if recording, let id = Self.connectionID(in: request.body) {
            sends.withLock { times in
                if times[id] == nil { times[id] = now }
            }
        }
        let response = try await inner.send(request)
        answers.add(1, ordering: .relaxed)
        return response
    }

    private static func connectionID(in body: Data) -> String? {
        let bytes = [UInt8](body)
        guard let start = bytes.firstRange(of: marker)?.upperBound else { return nil }
        let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
