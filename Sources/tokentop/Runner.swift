import Foundation
import TokentopCore
import TokentopTUI

/// Runs one parsed ``Invocation`` against the core; returns the exit status.
struct Runner {
    var invocation: Invocation
    var environment = ProcessInfo.processInfo.environment

    var databasePath: String {
        invocation.database ?? environment["TOKENTOP_DB"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Paths.defaultDatabase(environment: environment)
    }

    func run() async throws -> Int32 {
        switch invocation.command {
        case .help:
            Output.out(Usage.text)
            return 0
        case .version:
            Output.out("tokentop \(Usage.version)")
            Output.out("linked: \(terminalLibraryVersion()), \(LinkedLibraries.sqlite), \(LinkedLibraries.openssl)")
            return 0
        case .status:
            let engine = try openEngine()
            let summary = StatusSummary(engine.snapshot(), at: engine.timeSource.now())
            Output.out(summary.line)
            return summary.exitCode
        case .dashboard:
            let engine = try openEngine(create: true)
            return try await dashboard(engine)
        case .demo:
            return try await demo()
        case .list(let json, let scope, let status):
            let engine = try openEngine()
            let snapshot = engine.snapshot()
            let now = engine.timeSource.now()
            let chosen = snapshot.connections.filter { connection in
                (scope == nil || connection.scope == scope)
                    && (status == nil || snapshot.status(of: connection, at: now) == status)
            }
            Output.out(
                json
                    ? ConnectionReport.json(snapshot, connections: chosen, at: now)
                    : ConnectionReport.table(snapshot, connections: chosen, at: now))
            return 0
        case .show(let id, let json):
            let engine = try openEngine()
            let snapshot = engine.snapshot()
            guard let connection = snapshot.connections.first(where: { $0.id == id }) else {
                throw EngineError(.unknownConnection, "no connection named \(id) in \(databasePath)")
            }
            let history = try engine.store.history(connectionID: id, limit: 50)
            let now = engine.timeSource.now()
            Output.out(
                json
                    ? ConnectionReport.detailJSON(connection, snapshot: snapshot, history: history, at: now)
                    : ConnectionReport.detailText(connection, snapshot: snapshot, history: history, at: now))
            return 0
        case .importFile(let path):
            let summary = try ImportFile.run(
                path: path, openStore: { try openStore(create: $0) }, user: OperatorIdentity.current(), at: Date())
            Output.out("imported \(path) into \(databasePath): \(summary)")
            return 0
        case .providers(let json):
            let catalog = try ProviderCatalog.embedded()
            Output.out(json ? catalog.reportJSON() : catalog.reportTable())
            return 0
        case .rekey:
            let outcome = try Store.rekey(
                path: databasePath, environment: environment, user: OperatorIdentity.current(), at: Date())
            Output.out(
                "re-encrypted \(outcome.secrets) secrets in \(databasePath); the key is now in \(outcome.keyLocation)")
            return 0
        case .audit(let json, let verify):
            let store = try openStore()
            if verify {
                let result = try store.verifyAudit()
                if let problem = result.problem {
                    Output.error("audit log of \(databasePath) is broken: \(problem)")
                    return 1
                }
                Output.out("audit log intact: \(result.entries) entries")
                return 0
            }
            let entries = try store.auditLog()
            Output.out(json ? AuditReport.json(entries) : AuditReport.text(entries))
            return 0
        case .refresh(let ids):
            let engine = try openEngine()
            var status: Int32 = 0
            for id in ids {
                do {
                    let connection = try await engine.refreshNow(id)
                    if let reason = connection.reauthReason {
                        Output.out("\(id): needs re-auth: \(reason)")
                        status = 1
                    } else if connection.failures > 0, let error = connection.lastError {
                        Output.out("\(id): refresh failed: \(error.summary)")
                        status = 1
                    } else {
                        let left = connection.expiresAt.map { $0.timeIntervalSince(engine.timeSource.now()) }
                        Output.out("\(id): refreshed, expires in \(Countdown.format(left))")
                    }
                } catch let error as EngineError {
                    Output.error("\(error)")
                    status = 1
                }
            }
            return status
        case .revoke(let ids):
            let engine = try openEngine()
            var status: Int32 = 0
            for id in ids {
                do {
                    let connection = try await engine.revokeNow(id)
                    Output.out(
                        connection.revokedAtProvider
                            ? "\(id): revoked at the provider and here"
                            : "\(id): revoked here only; the integration has no revocation endpoint, "
                                + "so the token stays valid at the provider until it expires")
                } catch let error as EngineError {
                    Output.error("\(error)")
                    status = 1
                }
            }
            return status
        case .reauth(let id):
            let engine = try openEngine()
            guard let prompt = engine.reauthPrompt(for: id) else {
                throw EngineError(.unknownConnection, "no connection named \(id) in \(databasePath)")
            }
            Output.out("\(id): \(prompt.who)")
            Output.out("why: \(prompt.reason)")
            if let url = prompt.url { Output.out("start here: \(url)") }
            await engine.drainAudit()
            return 0
        case .daemon:
            let engine = try openEngine(create: true)
            return await Daemon(engine: engine).run()
        }
    }

    // MARK: - Wiring

    /// - Parameter create: whether a missing database is created (import, the dashboard, the daemon) or named as
    ///   missing (commands that only read or act on what is there).
    private func openStore(create: Bool = false) throws -> Store {
        try Store.open(path: databasePath, secrets: try SecretBox.load(environment: environment), create: create)
    }

    private func openEngine(create: Bool = false) throws -> Engine {
        try Engine(store: try openStore(create: create), transport: try CurlTransport(), databasePath: databasePath)
    }

    private func demo() async throws -> Int32 {
        let path: String
        var temporary: String?
        if let chosen = invocation.database {
            guard !FileManager.default.fileExists(atPath: chosen) else {
                throw UsageError(
                    description: "\(chosen) exists; the demo needs a fresh database, remove it or name another")
            }
            path = chosen
        } else {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("tokentop-demo-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            temporary = directory.path
            path = directory.appendingPathComponent("demo.sqlite3").path
        }
        defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
        let clock = SystemTimeSource()
        let secrets = invocation.database == nil ? SecretBox.ephemeral() : try SecretBox.load(environment: environment)
        let store = try Store.open(path: path, secrets: secrets)
        let sandbox = SandboxProvider(clock: clock)
        try DemoSeed.seed(store: store, sandbox: sandbox, now: clock.now())
        let engine = try Engine(
            store: store, transport: sandbox, timeSource: clock, policy: .demo,
            databasePath: invocation.database ?? "demo (temporary)")
        return try await dashboard(engine)
    }

    private func dashboard(_ engine: Engine) async throws -> Int32 {
        engine.start()
        do {
            try runDashboard(
                backend: engine, themesDirectory: invocation.themes ?? Self.shippedThemes(),
                themeName: invocation.theme ?? "default")
        } catch {
            await engine.stop()
            throw error
        }
        await engine.stop()
        return 0
    }

    /// The `themes/` folder beside the build or install: `<prefix>/share/tokentop/themes` or the source tree's.
    static func shippedThemes() -> String? {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            for candidate in ["themes", "share/tokentop/themes"] {
                let url = directory.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("default.theme").path) {
                    return url.path
                }
            }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }
}
