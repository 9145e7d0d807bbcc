import Foundation
import Synchronization
import TokentopCore
import TokentopTUI

/// Runs one parsed ``Invocation`` against the core; returns the exit status.
struct Runner {
    var invocation: Invocation
    var environment = ProcessInfo.processInfo.environment

    /// The store: `--db` or `--store`, then `TOKENTOP_STORE`, then `TOKENTOP_DB`, then the XDG default file.
    var databasePath: String {
        invocation.database ?? environment["TOKENTOP_STORE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["TOKENTOP_DB"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Paths.defaultDatabase(environment: environment)
    }

    /// Whether a missing directory of the store is created: only for the default database (however it is named).
    /// A directory missing from a path the user gave is more likely a typo than a wish for a new, empty store.
    var createsDirectories: Bool { databasePath == Paths.defaultDatabase(environment: environment) }

    /// Where ``databasePath`` came from, for `tokentop config`.
    var storeSource: String {
        if invocation.database != nil { return "flag" }
        for name in ["TOKENTOP_STORE", "TOKENTOP_DB"] where !(environment[name] ?? "").isEmpty { return name }
        return "default"
    }

    /// The store as messages name it: a PostgreSQL URL loses its password.
    var storeName: String { Store.displayName(databasePath) }

    /// Refuses a `TOKENTOP_STORE` in force that is no PostgreSQL URL (a libpq `key=value` string, a path), which would
    /// otherwise be opened, or created, as an SQLite file of that name. Every command that opens the store asks first.
    func requireStoreURL() throws {
        guard invocation.database == nil, let value = environment["TOKENTOP_STORE"], !value.isEmpty,
            let problem = Invocation.storeURLProblem(value, namedBy: "TOKENTOP_STORE", fileOption: "TOKENTOP_DB")
        else { return }
        throw UsageError(description: problem)
    }

    /// Where the configuration file is: `--config`, `TOKENTOP_CONFIG` (which `namedBy` says), or the XDG default.
    var configPath: (path: String, required: Bool, namedBy: String?) {
        if let given = invocation.configFile { return (given, true, nil) }
        if let given = environment["TOKENTOP_CONFIG"], !given.isEmpty { return (given, true, "TOKENTOP_CONFIG") }
        return (ConfigFile.defaultPath(environment: environment), false, nil)
    }

    /// The settings in force: the flags over the configuration file over the defaults.
    func configuration() throws -> EffectiveConfiguration {
        let (path, required, namedBy) = configPath
        let file = try ConfigFile.load(path: path, required: required, namedBy: namedBy)
        return EffectiveConfiguration(file: (file, path), flags: invocation.settings, flagNames: invocation.flagNames)
    }

    func run() async throws -> Int32 {
        switch invocation.command {
        case .config:
            let path = configPath.path
            try requireStoreURL()
            let configuration = try configuration()
            // The theme as the dashboard reads it: one it cannot find is no setting in force.
            let look = Self.look(configuration.settings)
            let themeWarning = try checkDashboardSettings(
                themesDirectory: look.themesDirectory, themeName: look.themeName, keys: look.keys)
            _ = try CertificateAuthorityFile.load(configuration)
            // The files the daemon would refuse at start-up, refused here in its words.
            try OperationsLoop.check(configuration.settings)
            try JSONLinesLog.check(
                configuration.settings.logFile, database: Store.isPostgres(databasePath) ? nil : databasePath)
            let report = configuration.report()
            let exists = FileManager.default.fileExists(atPath: path)
            Output.out("configuration file: \(path)\(exists ? "" : " (not present; defaults apply)")")
            Output.out("store: \(storeName) (\(storeSource))")
            Output.out(report)
            // The dashboard still opens on a theme with a bad line, in the default theme; `config`, which is run to
            // check a set-up, says what to fix and fails, so that a script or a package's check notices.
            if let themeWarning {
                Output.error(themeWarning)
                return 1
            }
            return 0
        case .help(let topic):
            Output.out(topic.flatMap(Usage.help) ?? Usage.text)
            return 0
        case .manPage:
            // The page ends in a line break of its own.
            Output.out(String(Usage.manPage.dropLast()))
            return 0
        case .version:
            Output.out("tokentop \(Usage.version)")
            Output.out("linked: \(terminalLibraryVersion()), \(LinkedLibraries.sqlite), \(LinkedLibraries.openssl)")
            return 0
        case .migrate:
            try requireStoreURL()
            let outcome = try Store.migrate(path: databasePath, createDirectory: createsDirectories)
            Output.out(outcome.description)
            return 0
        case .status:
            let summary: StatusSummary
            do {
                let engine = try openEngine()
                let now = engine.timeSource.now()
                let running = (try? engine.store.liveRefreshers(at: now)).map { !$0.isEmpty }
                summary = StatusSummary(engine.snapshot(), at: now, refresherRunning: running)
            } catch {
                // A check that cannot look is UNKNOWN to a monitor, not a warning about the tokens. Its one line goes
                // to stdout, the check's contract; on stderr as well, a monitor that keeps both would show it twice.
                Output.out("UNKNOWN: " + SafeText.clean("\(error)"))
                return StatusSummary.unknownExitCode
            }
            Output.out(summary.line)
            return summary.exitCode
        case .dashboard:
            // What the flags and the file name is checked first (the ca_file, then the theme and keys), then the
            // terminal: a dashboard that cannot start here must not create a database or a key file.
            let transport = try providerTransport()
            try checkDashboard()
            // A read-only dashboard makes no store: it shows one that exists, even one this user cannot write.
            let engine = try openEngine(create: !(try configuration().settings.readOnly ?? false), transport: transport)
            return try await dashboard(engine)
        case .demo:
            return try await demo()
        case .list(let json, let scope, let status, let workspace):
            let engine = try openEngine()
            let snapshot = engine.snapshot()
            let now = engine.timeSource.now()
            let chosen = snapshot.connections.filter { connection in
                (scope == nil || connection.scope == scope)
                    && (workspace == nil || connection.workspaceName == workspace)
                    && (status == nil || snapshot.status(of: connection, at: now) == status)
            }
            if json {
                ConnectionReport.json(snapshot, connections: chosen, at: now) { Output.outPiece($0) }
                Output.outPiece("\n")
            } else {
                Output.out(ConnectionReport.table(snapshot, connections: chosen, at: now))
            }
            // The rest is listed; the rows left out are named, and the exit status says the list is not whole.
            if let left = UnreadableConnection.summary(snapshot.unreadable) {
                Output.error(left)
                return 1
            }
            return 0
        case .show(let id, let json):
            let engine = try openEngine()
            let snapshot = engine.snapshot()
            guard let connection = snapshot.connections.first(where: { $0.id == id }) else {
                if let unreadable = snapshot.unreadable.first(where: { $0.id == id }) {
                    throw EngineError(.storage, unreadable.refusal)
                }
                throw EngineError(.unknownConnection, "no connection named \(SafeText.name(id)) in \(storeName)")
            }
            var unreadable: [String] = []
            let history = try engine.store.history(connectionID: id, limit: 50, unreadable: &unreadable)
            if let problem = unreadable.first {
                let count = unreadable.count == 1 ? "1 entry" : "\(unreadable.count) entries"
                let verb = unreadable.count == 1 ? "is" : "are"
                Output.error(
                    "\(count) of \(SafeText.name(id))'s history cannot be read and \(verb) left out: \(problem)")
            }
            let now = engine.timeSource.now()
            Output.out(
                json
                    ? ConnectionReport.detailJSON(connection, snapshot: snapshot, history: history, at: now)
                    : ConnectionReport.detailText(connection, snapshot: snapshot, history: history, at: now))
            return 0
        case .importFile(let path):
            // Ctrl-C rolls the import back (on SQLite by interrupting its transaction, so that a new store and key
            // file it made are taken away again, as for a refused file), says so, and exits 128 + the signal.
            // Held weakly: the import closes its store before it takes away the files a new store made.
            let opened = WeakStore()
            let interrupted = FirstSignal()
            let signals = SignalSources.watch(Self.stopSignals) { number in
                let first = interrupted.take(number)
                // Before the store is opened (the file is being read) nothing is made yet: the process ends at once.
                guard first, opened.interrupt() else {
                    Output.error("interrupted by signal \(number): nothing was imported")
                    _exit(128 + number)
                }
            }
            defer { signals.cancel() }
            let summary: ImportSummary
            do {
                summary = try ImportFile.run(
                    path: path,
                    openStore: { create in
                        opened.opening()
                        let store = try openStore(create: create)
                        opened.set(store)
                        return store
                    }, user: OperatorIdentity.current(), at: Date(), waiting: { Output.error("note: \($0)") })
            } catch {
                guard let signal = interrupted.received else { throw error }
                Output.error("interrupted by signal \(signal): nothing was imported")
                return 128 + signal
            }
            Output.out("imported \(ImportFile.displayName(path)) into \(storeName): \(summary)")
            return 0
        case .exportStore(let path):
            let summary = try StoreExport.run(
                store: try openStore(), to: path, user: OperatorIdentity.current(), at: Date())
            // On standard output the document stands alone; the summary goes beside it.
            let file = path.flatMap { $0 == "-" ? nil : $0 }
            let line = "exported \(storeName) to \(file ?? "standard output"): \(summary)"
            if file == nil { Output.error(line) } else { Output.out(line) }
            return 0
        case .explain(let scope):
            Output.out(IdentityModelFacts.text(width: 80, highlight: scope))
            return 0
        case .providers(let json):
            let catalog = try ProviderCatalog.embedded()
            Output.out(json ? catalog.reportJSON() : catalog.reportTable())
            return 0
        case .rekey:
            try requireStoreURL()
            let outcome = try Store.rekey(
                path: databasePath, environment: environment, user: OperatorIdentity.current(), at: Date())
            Output.out(
                outcome.keyUnchanged
                    ? "no secret sealed in \(storeName); the key is unchanged, and still opens its key check and "
                        + "audit log: keep it"
                    : "re-encrypted \(outcome.secrets) secrets in \(storeName); the key is now in "
                        + outcome.keyLocation)
            return 0
        case .audit(let json, let verify):
            let store = try openStore()
            if verify {
                let result = try store.verifyAudit()
                if json { Output.out(AuditReport.json(result)) }
                if let problem = result.problem {
                    Output.error("audit log of \(storeName) is broken: \(problem)")
                    return 1
                }
                if !json { Output.out("audit log intact: \(result.entries) entries") }
                return 0
            }
            let entries = try store.auditLog()
            Output.out(json ? AuditReport.json(entries) : AuditReport.text(entries))
            return 0
        case .refresh(let ids):
            let engine = try openEngine(transport: try providerTransport())
            try requireKnown(ids, in: engine, undone: "refreshed")
            // Registered while it runs, as a dashboard is: rekey must not change the key under a refresh whose
            // answer carries a rotated refresh token.
            // Ctrl-C waits for the refresh in flight (its answer may carry a rotated refresh token) and starts no
            // other; a second one abandons it, recorded in the history and the audit log, as a dashboard's does.
            let interrupted = FirstSignal()
            let signals = SignalSources.watch(Self.stopSignals) { number in
                let first = interrupted.take(number)
                guard first else {
                    engine.recordRefreshesAbandoned()
                    Output.error(
                        "interrupted again by signal \(number): stopped without waiting for the request in flight")
                    _exit(128 + number)
                }
                // Nothing new leaves from now on, not even after a wait for another process's refresh.
                let flying = engine.beginStop()
                Output.error(
                    "interrupted by signal \(number): "
                        + (flying.refreshes > 0
                            ? "waiting for the refresh in flight to be stored (at most 30s for its answer); Ctrl-C "
                                + "again abandons it, and a rotated refresh token with it"
                            : "nothing more is sent"))
            }
            defer { signals.cancel() }
            return try await engine.whileRegistered(as: "refresh") {
                try await refresh(ids, with: engine, interrupted: { interrupted.received })
            }
        case .revoke(let ids):
            let engine = try openEngine(transport: try providerTransport())
            try requireKnown(ids, in: engine, undone: "revoked")
            // Ctrl-C while a revocation waits for the provider: the wait stops at once, and the revocation records
            // that its request may have reached the provider, gives its lease back, and says so below. A second one
            // ends the process without waiting for that record.
            let interrupted = FirstSignal()
            let signals = SignalSources.watch(Self.stopSignals) { number in
                let first = interrupted.take(number)
                guard first else {
                    Output.error("interrupted again by signal \(number): stopped without waiting")
                    _exit(128 + number)
                }
                engine.interruptRevocations()
            }
            defer { signals.cancel() }
            // Registered as `refresh` is: rekey refuses while a revocation may still store or audit under the old
            // key.
            return try await engine.whileRegistered(as: "revoke") {
                var status: Int32 = 0
                for (index, id) in ids.enumerated() {
                    if let signal = interrupted.received {
                        let left = ids[index...].map(SafeText.name).joined(separator: ", ")
                        Output.error("interrupted by signal \(signal): not revoked: \(left)")
                        return 128 + signal
                    }
                    do {
                        let before = engine.connection(id)
                        let connection = try await engine.revokeNow(id, waiting: { Output.error("note: \($0)") })
                        if connection.revokedAtProvider {
                            Output.out("\(id): revoked at the provider and here")
                        } else {
                            // Done as asked (exit 0), but what still works at the provider must not pass unseen.
                            Output.out("\(id): revoked here only, not at the provider")
                            Output.error(
                                "\(id): warning: the provider was not told: integration \(connection.integrationID) "
                                    + "has no revocation endpoint, so \((before ?? connection).leftValidAtProvider); "
                                    + "revoke it at the provider to end it sooner")
                        }
                    } catch let error as EngineError {
                        Output.error("\(error)")
                        status = error.code == .interrupted ? 128 + (interrupted.received ?? SIGINT) : 1
                    }
                }
                // Interrupted after the last answer came: everything asked was done, and said.
                return status
            }
        case .delete(let ids, let force, let integrations):
            // Nothing goes to a provider: the store alone, as `import` writes it.
            let store = try openStore()
            let user = OperatorIdentity.current()
            if integrations {
                for id in try store.deleteIntegrations(ids, user: user, at: Date()) {
                    Output.out("integration \(id): deleted")
                }
                return 0
            }
            for gone in try store.deleteConnections(ids, force: force, user: user, at: Date()) {
                let history = counted(gone.historyEntries, "history entry", "history entries")
                Output.out(
                    "\(gone.id): deleted, with \(history)"
                        + (gone.forced
                            ? "; forced: it was not revoked, and its token stays valid at the provider until it expires"
                            : ""))
            }
            return 0
        case .reauth(let id, let browser, let timeout):
            let engine = try openEngine(transport: try providerTransport())
            if let unreadable = engine.snapshot().unreadable.first(where: { $0.id == id }) {
                throw EngineError(.storage, unreadable.refusal)
            }
            let refusal: ReauthFailure
            switch engine.reauthMethod(for: id) {
            case .success:
                // Registered while the user signs in, so that rekey waits for the new tokens to be stored.
                // Not registered as a refresher, as `refresh` is: the sign-in must start at once, and a store call
                // before it waits out another process's lock. A rekey meanwhile makes the storing fail, which the
                // command says and the connection's history keeps; the user signs in again.
                return await ReauthCommand(
                    engine: engine, id: id, options: ReauthOptions(timeout: timeout), openBrowser: browser,
                    environment: environment
                ).run()
            case .failure(let why) where why.code == .readOnly:
                throw why
            case .failure(let why):
                refusal = why
            }
            guard let prompt = engine.requestReauth(for: id) else {
                throw EngineError(.unknownConnection, "no connection named \(SafeText.name(id)) in \(storeName)")
            }
            Output.out("\(id): \(prompt.who)")
            Output.out("why: \(prompt.reason)")
            if let url = prompt.url { Output.out("start here: \(url)") }
            await engine.drainAudit()
            // Nothing was re-authorized: `reauth ID && …` must not go on as if the tokens were new.
            Output.error("\(id): not re-authorized here: \(refusal.message)")
            return 1
        case .daemon:
            let transport = try providerTransport()
            let engine = try openEngine(create: true, transport: transport)
            let runner = self
            return try await Daemon(
                engine: engine, transport: transport, settings: try configuration().settings,
                reload: { try runner.configuration() }
            ).run()
        }
    }

    /// `tokentop refresh ID…`: each connection in turn; results on stdout, failures on stderr, 1 when any failed.
    /// - Parameter interrupted: the signal that interrupted the command, if one did: no further id is refreshed.
    private func refresh(
        _ ids: [String], with engine: Engine, interrupted: () -> Int32? = { nil }
    ) async throws -> Int32 {
        var status: Int32 = 0
        for (index, id) in ids.enumerated() {
            if let signal = interrupted() {
                let left = ids[index...].map(SafeText.name).joined(separator: ", ")
                Output.error("interrupted by signal \(signal): not refreshed: \(left)")
                return 128 + signal
            }
            do {
                let connection = try await engine.refreshNow(id)
                // Results on stdout, failures on stderr, as revoke and every other command say them.
                if !connection.credential.expires, let probe = connection.probe {
                    // A static credential is not renewed, only checked at its probe URL.
                    let line = "\(id): probe \(probe.ok ? "ok" : "failed"): \(probe.detail)"
                    if probe.ok { Output.out(line) } else { Output.error(line) }
                    if let reason = connection.reauthReason { Output.error("\(id): needs re-auth: \(reason)") }
                    if !probe.ok { status = 1 }
                } else if let reason = connection.reauthReason {
                    Output.error("\(id): needs re-auth: \(reason)")
                    status = 1
                } else if connection.failures > 0, let error = connection.lastError {
                    let detail = error.refreshFailureDetail(integrationID: connection.integrationID)
                    Output.error("\(id): refresh failed: \(detail)")
                    status = 1
                } else {
                    let left = Countdown.format(
                        until: connection.expiresAt, now: engine.timeSource.now(),
                        assumed: connection.expiryAssumed)
                    Output.out("\(id): refreshed, expires in \(left)")
                }
            } catch let error as EngineError {
                Output.error("\(error)")
                status = 1
            }
        }
        return interrupted().map { 128 + $0 } ?? status
    }

    /// Refuses the whole command, naming every id of `ids` that names no connection, before any of the others is
    /// acted on: `revoke typo acme-key` must not revoke acme-key and only then fail.
    /// - Parameter undone: what was not done to the others, for the message (`revoked`).
    private func requireKnown(_ ids: [String], in engine: Engine, undone: String) throws {
        let snapshot = engine.snapshot()
        let unknown = ids.filter { snapshot.index(of: $0) == nil }
        guard !unknown.isEmpty else { return }
        if let unreadable = snapshot.unreadable.first(where: { unknown.contains($0.id) }) {
            throw EngineError(.storage, "\(unreadable.refusal); nothing was \(undone)")
        }
        let named = unknown.count == 1 ? "no connection named" : "no connections named"
        throw EngineError(
            .unknownConnection,
            "\(named) \(unknown.map(SafeText.name).joined(separator: ", ")) in \(storeName); nothing was \(undone); "
                + "`tokentop list` shows the ids")
    }

    // MARK: - Wiring

    /// - Parameter create: whether a missing database and a missing key file are created (import, the dashboard,
    ///   the daemon: they write secrets) or named as missing (commands that only read or act on what is there:
    ///   without a key they still read a store that holds no secret).
    private func openStore(create: Bool = false) throws -> Store {
        try requireStoreURL()
        let (store, note) = try Store.open(
            path: databasePath, environment: environment, create: create, createKey: create,
            createDirectory: createsDirectories)
        if let note { Output.error("note: \(note)") }
        return store
    }

    /// The network to providers, trusting the `ca_file` in force too, read and checked first: commands that reach
    /// providers refuse a wrong one at once, rather than failing each request with a TLS error.
    private func providerTransport() throws -> CurlTransport {
        try CurlTransport(certificateAuthorities: try CertificateAuthorityFile.load(try configuration()))
    }

    /// - Parameter transport: the network to providers; by default the system's trust alone, for commands that only
    ///   read, never send a request, and so do not read the `ca_file`.
    private func openEngine(create: Bool = false, transport: CurlTransport? = nil) throws -> Engine {
        let configuration = try configuration()
        return try Engine(
            store: try openStore(create: create), transport: try transport ?? CurlTransport(),
            policy: configuration.policy(base: .standard), databasePath: storeName,
            readOnly: configuration.settings.readOnly ?? false)
    }

    private func demo() async throws -> Int32 {
        let path: String
        var temporary: DemoDirectory?
        // Nothing is seeded for a dashboard that cannot open: the demo's connections must never land in a store.
        try checkDashboard()
        if let chosen = invocation.database {
            guard !Store.isPostgres(chosen) else {
                throw UsageError(
                    description: "the demo runs on a fresh SQLite file of its own; it never writes into a PostgreSQL "
                        + "store (\(storeName))")
            }
            guard !FileManager.default.fileExists(atPath: chosen) else {
                throw UsageError(
                    description: "\(chosen) exists; the demo needs a fresh database, remove it or name another")
            }
            // Before the key is read, which may create the key file: nothing is made for a path with a typo.
            try Store.requireDirectory(ofDatabase: chosen)
            path = chosen
        } else {
            let directory = try DemoDirectory()
            temporary = directory
            path = directory.database
        }
        defer { temporary?.remove() }
        let clock = SystemTimeSource()
        let secrets = invocation.database == nil ? SecretBox.ephemeral() : try SecretBox.load(environment: environment)
        let store = try Store.open(path: path, secrets: secrets, createDirectory: invocation.database == nil)
        let sandbox = SandboxProvider(clock: clock)
        try DemoSeed.seed(store: store, sandbox: sandbox, now: clock.now())
        let configuration = try configuration()
        // The demo keeps its own short lead window unless a flag asks otherwise: its tokens live minutes.
        let policy = invocation.settings.applied(to: RefreshPolicy.demo)
        let engine = try Engine(
            store: store, transport: sandbox, timeSource: clock, policy: policy,
            databasePath: invocation.database ?? "demo (temporary)", readOnly: configuration.settings.readOnly ?? false)
        // An abandoned stop (a second Ctrl-C) ends the process at once: the throwaway directory goes first.
        let throwaway = temporary
        let status = try await dashboard(engine) { throwaway?.remove() }
        if let kept = invocation.database {
            // The sandbox's providers and the tokens they issued end with this process; the file does not.
            Output.error(
                "note: the demo's database stays in \(kept) for list, show, audit and export; its sandbox providers "
                    + "ended with the demo, so in the dashboard or the daemon its connections can no longer renew")
        }
        return status
    }

    /// The dashboard's theme, keys and terminal, checked before any store is opened.
    private func checkDashboard() throws {
        let look = Self.look(try configuration().settings)
        try checkDashboardCanStart(themesDirectory: look.themesDirectory, themeName: look.themeName, keys: look.keys)
    }

    /// The dashboard's theme folder, theme and keys as the settings give them, with the defaults where they do not.
    private static func look(
        _ settings: Settings
    ) -> (themesDirectory: String?, themeName: String, keys: [String: String]) {
        (settings.themesDirectory ?? ShippedThemesDirectory.find(), settings.theme ?? "default", settings.keys ?? [:])
    }

    /// - Parameter abandoning: what must still happen when a signal abandons the stop and the process ends at once.
    private func dashboard(_ engine: Engine, abandoning: @escaping @Sendable () -> Void = {}) async throws -> Int32 {
        let settings = try configuration().settings
        try OperationsLoop.check(settings)
        let operations = OperationsLoop(engine: engine) { message, fields in
            // The dashboard has no log: a problem with the metrics file or the event command is its notice.
            let details = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            engine.post(notice: "\(message): \(details)")
        }
        operations.apply(settings)
        engine.start()
        // Nothing to write and nobody to tell: no loop waking five times a second in an idle dashboard.
        if settings.metricsFile != nil || settings.onEvent != nil { operations.start() }
        let look = Self.look(settings)
        // The dashboard's own trap catches these while it runs and puts back what it found when it closes: watched,
        // not the default action, so that a second signal (a closed terminal sends SIGHUP twice) cannot end the
        // process before the stop below watches for it, and before its cleanup; and counted, so that a second Ctrl-C
        // between the two is not lost.
        let between = Atomic<Int>(0)
        let early = SignalSources.watch(Self.stopSignals) { number in
            if number != SIGHUP { between.add(1, ordering: .relaxed) }
        }
        let outcome = Result {
            try runDashboard(
                backend: engine, themesDirectory: look.themesDirectory, themeName: look.themeName, keys: look.keys)
        }
        // Ctrl-C is a way to quit: said at once, before the wait for the refreshes in flight, and given back as a
        // shell expects, 128 + the signal.
        var interrupted: TerminalError?
        var again: Int32?
        if case .failure(let error as TerminalError) = outcome, case .interrupted(let signal, let twice) = error {
            interrupted = error
            again = twice ? signal : nil
        }
        if let interrupted { Output.error("\(interrupted)") }
        await stopAfterDashboard(engine, operations, abandoning: abandoning) {
            early.cancel()
            return again ?? (between.load(ordering: .relaxed) > 0 ? SIGINT : nil)
        }
        if let interrupted { return interrupted.exitCode }
        try outcome.get()
        if let problem = engine.store.fileProblem() {
            // The dashboard stopped refreshing when its file went, and said so on screen; the shell hears it too, as
            // it does from the daemon, now that the terminal is back.
            Output.error("database problem: \(problem)")
            return 1
        }
        return 0
    }

    private static let stopSignals = [SIGINT, SIGTERM, SIGHUP]

    /// Stops the refresh actor and the event commands once the terminal is back, saying why the prompt does not
    /// return at once. SIGINT or SIGTERM meanwhile (a second Ctrl-C) abandons the refreshes in flight and kills the
    /// running event command, which runs in a process group of its own and would otherwise outlive us. SIGHUP only
    /// says the terminal is gone, which hurries nothing: the stop goes on, and so does the cleanup after it.
    /// - Parameter signalledAgain: called once this stop watches the signals itself: the second SIGINT or SIGTERM
    ///   that came before (two quick Ctrl-C), if one did, which then abandons at once what a second signal abandons.
    private func stopAfterDashboard(
        _ engine: Engine, _ operations: OperationsLoop, abandoning: @escaping @Sendable () -> Void,
        signalledAgain: () -> Int32? = { nil }
    ) async {
        // Set by a second signal, which ends the process itself once it has killed the event command and recorded
        // what it abandons: the stop below, which that kill lets finish, must not end it first without a word.
        let abandoned = Atomic<Bool>(false)
        let abandon: @Sendable (Int32) -> Void = { number in
            abandoned.store(true, ordering: .sequentiallyConsistent)
            operations.abandonEventCommands()
            Self.recordRevocationsAbandoned(engine)
            engine.recordRefreshesAbandoned()
            abandoning()
            Output.error("interrupted again by signal \(number): stopped without waiting")
            _exit(128 + number)
        }
        let signals = SignalSources.watch(Self.stopSignals) { number in
            guard number != SIGHUP else { return }
            abandon(number)
        }
        defer { signals.cancel() }
        if let number = signalledAgain() { abandon(number) }
        // From here on nothing new goes to a provider: refreshes an operator marked that have not left yet wait for
        // the schedule of the next run, and only the requests already sent are waited for.
        let waiting = Self.waiting(for: engine.beginStop())
        if let waiting { Output.error(waiting) }
        // With nothing in flight to name, a stop that takes long waits for the store: said once it does.
        let slow = waiting != nil ? nil : SlowStopNotice(engine: engine, storeName: storeName)
        await engine.stop()
        slow?.cancel()
        if let notSent = Self.notSent(engine.refreshesTurnedAway) { Output.error(notSent) }
        if operations.eventCommandsBusy {
            Output.error(
                "waiting at most \(Countdown.format(seconds: HookRunner.stopGrace)) for the --on-event command to "
                    + "finish; Ctrl-C kills it now")
        }
        await operations.stop()
        while abandoned.load(ordering: .sequentiallyConsistent) { try? await Task.sleep(for: .seconds(1)) }
    }

    /// What a dashboard's stop says it waits for, or nil when nothing is in flight.
    static func waiting(for flying: Engine.InFlight) -> String? {
        var what: [String] = []
        if flying.refreshes > 0 {
            what.append("\(counted(flying.refreshes, "refresh", "refreshes")) in flight to be stored")
        }
        if flying.revocations > 0 {
            what.append(
                "\(counted(flying.revocations, "revocation", "revocations")) in flight to be answered by the provider "
                    + "and recorded")
        }
        guard !what.isEmpty else { return nil }
        let them = flying.refreshes + flying.revocations == 1 ? "it" : "them"
        return "waiting for \(what.joined(separator: " and ")) (at most 30s for each answer, and a minute more while "
            + "the database is locked); Ctrl-C abandons \(them)"
            + (flying.refreshes > 0 ? ", and a rotated refresh token with \(them)" : "")
            + (flying.revocations > 0
                ? "; an abandoned revocation is recorded as interrupted, as its request may have reached the provider"
                : "")
    }

    /// What a dashboard's stop says of the refreshes an operator asked for that it turned away before their
    /// request left, or nil when there were none: at most ten are named, the rest counted.
    static func notSent(_ ids: [String]) -> String? {
        guard !ids.isEmpty else { return nil }
        let shown = ids.prefix(10).map(SafeText.name).joined(separator: ", ")
        let more = ids.count > 10 ? " (and \(ids.count - 10) more)" : ""
        let (were, they) = ids.count == 1 ? ("was", "it is") : ("were", "they are")
        return "stopping: \(counted(ids.count, "refresh", "refreshes")) you asked for \(were) not sent (tokentop "
            + "stopped first); \(they) renewed on schedule, or run `tokentop refresh ID…` now: \(shown)\(more)"
    }

    /// A second Ctrl-C during a stop: the revocations in flight stop waiting and record that their request may have
    /// reached the provider, for at most two seconds, before the process ends.
    private static func recordRevocationsAbandoned(_ engine: Engine) {
        guard engine.inFlight.revocations > 0 else { return }
        engine.interruptRevocations()
        let deadline = Date().addingTimeInterval(2)
        while engine.inFlight.revocations > 0, Date() < deadline { usleep(20_000) }
    }
}

/// A store a signal handler may interrupt while a command uses it, held weakly: the command decides when it closes.
private final class WeakStore: @unchecked Sendable {
    // @unchecked Sendable: every property is read and written under `lock` only.
    private let lock = NSLock()
    private weak var store: Store?
    private var isOpening = false
    private var interrupted = false

    /// Says that the store is being opened (and perhaps created, with its key file): from now on a signal waits for
    /// it, so that the import's cleanup takes away what the opening made.
    func opening() { lock.withLock { isOpening = true } }

    /// The store opened; an interruption that came while it opened reaches it now.
    func set(_ store: Store) {
        lock.withLock {
            self.store = store
            if interrupted { store.interrupt() }
        }
    }

    /// Interrupts the store's import, now or once it is open; false before its opening began.
    func interrupt() -> Bool {
        lock.withLock {
            interrupted = true
            store?.interrupt()
            return isOpening
        }
    }
}
