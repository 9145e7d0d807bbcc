import Foundation
import Testing
@testable import TokentopCore

/// The sandbox provider, whose token endpoint has the store re-keyed by another handle (another process) before it
/// answers: the answer, a rotated refresh token, meets a key that no longer opens the store.
private final class RekeyingProvider: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `rekeyed` is only touched under `lock`; the rest never changes.
    let inner: SandboxProvider
    let path: String
    let key: SecretBox
    private let lock = NSLock()
    private var rekeyed = false

    init(inner: SandboxProvider, path: String, key: SecretBox) {
        self.inner = inner
        self.path = path
        self.key = key
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        if request.url.path.hasSuffix("/token"), lock.withLock({ !rekeyed }) {
            let other = try Store.open(path: path, secrets: key, create: false)
            try other.rekey(to: .ephemeral())
            lock.withLock { rekeyed = true }
        }
        return try await inner.send(request)
    }
}

/// A token endpoint whose request outlives its refresher's lease: another handle (another process) writes the
/// connection meanwhile, and the answer never comes (a refresher stopped past its lease, then timed out).
private final class LostAnswerProvider: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: nothing changes after init.
    let path: String
    let key: SecretBox

    init(path: String, key: SecretBox) {
        self.path = path
        self.key = key
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let other = try Store.open(path: path, secrets: key, create: false)
        try other.database.execute("UPDATE connections SET generation = generation + 1, lease_owner = NULL")
        throw URLError(.timedOut)
    }
}

/// `tokentop refresh` and `reauth` count as running refreshers while they run, and a refresh whose rotated refresh
/// token meets a changed key says so in the connection's history.
struct RekeyDuringRefreshTests {
    let base = EngineTests()

    @Test func aCommandIsARunningRefresherUntilItsBodyEnds() async throws {
        let (engine, _) = try base.makeEngine(connections: [base.userConnection("alice")])
        let store = engine.store
        let now = base.clock.now()
        #expect(try store.liveRefreshers(at: now).isEmpty)
        let seen = try await engine.whileRegistered(as: "refresh") { try store.liveRefreshers(at: now) }
        #expect(seen.count == 1)
        let owner = try #require(seen.first?.owner)
        #expect(owner.hasPrefix("\(ProcessInfo.processInfo.hostName):\(getpid()):refresh-"), "\(owner)")
        #expect(try store.liveRefreshers(at: now).isEmpty, "the entry stayed after the command")
    }

    @Test func aRotatedTokenLostToAChangedKeyIsKeptInTheHistory() async throws {
        let (store, sandbox) = try base.makeStore(connections: [base.userConnection("alice")])
        let transport = RekeyingProvider(inner: sandbox, path: store.path, key: store.secrets)
        let engine = try Engine(store: store, transport: transport, timeSource: base.clock, policy: .standard)
        let error = try await #require(throws: EngineError.self) { try await engine.refreshNow("alice") }
        #expect(error.message.contains("re-keyed by another process"), "\(error.message)")
        #expect(error.message.contains("could not be stored and is lost"), "\(error.message)")

        let entry = try #require(try store.history(connectionID: "alice", limit: 1).last)
        #expect(entry.kind == .refreshFailed)
        #expect(entry.message.hasPrefix("new tokens not stored, database problem: the database "), "\(entry.message)")
        #expect(entry.message.contains("re-keyed by another process"), "\(entry.message)")
        #expect(entry.message.contains("the provider had already issued a new refresh token"), "\(entry.message)")
        #expect(engine.snapshot().events.filter { $0.message == entry.message }.count == 1, "shown once")
    }

    /// An operator's refresh after another process re-keyed the store says so, not that the key may be wrong: its
    /// claim cannot open the stored refresh token.
    @Test func aRefreshAfterAnotherProcessRekeyedSaysSo() async throws {
        let (store, sandbox) = try base.makeStore(connections: [base.userConnection("alice")])
        let engine = try Engine(store: store, transport: sandbox, timeSource: base.clock, policy: .standard)
        let other = try Store.open(path: store.path, secrets: store.secrets, create: false)
        try other.rekey(to: .ephemeral())
        let error = try await #require(throws: EngineError.self) { try await engine.refreshNow("alice") }
        #expect(error.message.contains("re-keyed by another process"), "\(error.message)")
        #expect(!error.message.contains("wrong TOKENTOP_KEY"), "\(error.message)")
    }

    /// A refresh whose request got no answer, discarded because another process wrote the connection meanwhile,
    /// leaves in the history that the provider may have rotated the token: a later refusal finds its reason there.
    @Test func anAnswerLostWhileAnotherProcessWroteIsKeptInTheHistory() async throws {
        let (store, _) = try base.makeStore(connections: [base.userConnection("alice")])
        let transport = LostAnswerProvider(path: store.path, key: store.secrets)
        let engine = try Engine(store: store, transport: transport, timeSource: base.clock, policy: .standard)
        let error = try await #require(throws: EngineError.self) { try await engine.refreshNow("alice") }
        #expect(error.code == .superseded, "\(error.message)")
        let entry = try #require(try store.history(connectionID: "alice", limit: 1).last)
        #expect(entry.kind == .refreshFailed)
        #expect(entry.message.hasPrefix("refresh result discarded: "), "\(entry.message)")
        #expect(
            entry.message.contains("the provider may have issued a new refresh token in the answer that was not read"),
            "\(entry.message)")
    }
}
