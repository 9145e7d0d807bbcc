import Foundation
import TokentopCore

/// Runs the whole benchmark: for each fleet size, seed a database, run each phase in a process of its own, and
/// print the figures.
///
/// Each phase runs in a fresh process so that `first_frame_ms` is a cold start and `peak_rss_mb` is the memory of
/// a process that holds the fleet, not of the one that seeded it.
struct Bench {
    let options: BenchOptions
    /// The figures in the order they are printed; the first names are the issue's.
    static let order = [
        "first_frame_ms", "frame_ms_p50_cursor", "frame_ms_p99_cursor", "frame_ms_p50_page", "frame_ms_p99_page",
        "frame_ms_p50_filter", "frame_ms_p99_filter", "frame_ms_p50_scope", "frame_ms_p99_scope",
        "idle_cpu_percent", "peak_rss_mb", "status_ms", "list_ms", "list_json_ms", "import_seen_ms",
        "import_sync_cpu_ms", "refresh_per_s", "wrk_per_s", "refresh_ratio", "lateness_ms_p99",
    ]

    func run() async throws {
        if options.prepareOnly, options.work == nil {
            throw BenchError(
                "--prepare-only needs --work DIR: the prepared databases stay there for the printed commands")
        }
        if options.prepareOnly, (ProcessInfo.processInfo.environment[SecretBox.keyVariable] ?? "").isEmpty {
            throw BenchError(
                "--prepare-only needs \(SecretBox.keyVariable) set: the prepared databases are sealed with it, and the "
                    + "printed commands (and tokentop --db) open them with it; for example export "
                    + "\(SecretBox.keyVariable)=$(openssl rand -base64 32)")
        }
        // A key given is checked before anything is made with it.
        if let given = ProcessInfo.processInfo.environment[SecretBox.keyVariable], !given.isEmpty {
            _ = try SecretBox.load(environment: [SecretBox.keyVariable: given])
        }
        if let work = options.work {
            // A typo in the path must not become a tree of new directories somewhere else.
            var isDirectory: ObjCBool = false
            let parent = Paths.folder(of: work)
            if !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw BenchError(
                    "--work \(work): its parent \(parent) is not a directory; create it first, or name another place")
            }
            var link = stat()
            if lstat(work, &link) == 0, link.st_mode & S_IFMT == S_IFLNK, stat(work, &link) != 0 {
                throw BenchError("--work \(work) is a symbolic link that leads nowhere; point it at a directory")
            }
            if !FileManager.default.fileExists(atPath: work, isDirectory: &isDirectory) {
                guard mkdir(work, 0o700) == 0 else {
                    throw BenchError("--work \(work): cannot create it (\(String(cString: strerror(errno))))")
                }
            } else if !isDirectory.boolValue {
                throw BenchError("--work \(work) is not a directory; name a directory, or a new one to be made")
            }
        }
        let work = try options.work ?? Self.temporaryDirectory()
        var environment = ProcessInfo.processInfo.environment
        // A fresh key for fake tokens, unless TOKENTOP_KEY names one (to open the databases a --work run keeps).
        let key =
            environment[SecretBox.keyVariable].flatMap { $0.isEmpty ? nil : $0 }
            ?? Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        environment[SecretBox.keyVariable] = key
        let secrets = try SecretBox.load(environment: [SecretBox.keyVariable: key])
        let endpoint = options.network ? try TokenEndpoint(directory: work + "/nginx", workers: 2) : nil
        defer { endpoint?.stop() }
        let tokenURL = endpoint?.url ?? URL(string: "http://127.0.0.1:9/token")!
        var table: [[String: String]] = []
        say("work directory \(work)\(endpoint.map { ", token endpoint \($0.url)" } ?? "")")

        // The SQLite phases run on a fleet of each size; the pg phase seeds stores of its own.
        for count in options.connections where !options.phases.subtracting(["pg"]).isEmpty {
            var figures: [String: String] = ["connections": "\(count)"]
            var rss: [Double] = []
            let base = "\(work)/fleet-\(count).sqlite3"
            try removeDatabase(base)
            var fleet = Fleet(count: count, tokenURL: tokenURL)
            let seedTime = try Measure.time {
                let store = try Store.open(path: base, secrets: secrets)
                try fleet.seed(into: store, at: Date())
            }
            say("N=\(count): seeded in \(Measure.format(seedTime / 1_000, digits: 1)) s")

            var frames: [String: String] = [:]
            if options.phases.contains("frames") {
                frames = try phase("frames", copyOf: base, environment: environment)
                figures.merge(frames) { $1 }
                rss.append(Double(frames["peak_rss_mb"] ?? "0") ?? 0)
            }

            if options.phases.contains("commands"), !options.prepareOnly {
                let path = base.replacingOccurrences(of: ".sqlite3", with: "-commands.sqlite3")
                try removeDatabase(path)
                try FileManager.default.copyItem(atPath: base, toPath: path)
                let commands = CommandPhase(
                    tokentop: try Self.tokentopExecutable(), database: path,
                    environment: Self.commandEnvironment(environment, work: work))
                // Their memory is printed on its own (`peak_rss_mb_commands`): `peak_rss_mb` is the dashboard's and
                // the refresh engine's, which hold the fleet for as long as they run.
                figures.merge(try commands.run()) { $1 }
                if options.work == nil { try? removeDatabase(path) }
            }

            if let endpoint, options.phases.contains("throughput") {
                let policy = RefreshPolicy.standard
                let wrkRate = options.prepareOnly ? 1 : try Wrk.rate(
                    url: endpoint.url, connections: policy.concurrency, seconds: options.wrkSeconds,
                    directory: work)
                figures["wrk_per_s"] = Measure.format(wrkRate, digits: 1)
                if !options.prepareOnly {
                    let bare = await TransportRate.measure(
                        try options.makeTransport(), url: endpoint.url, concurrency: policy.concurrency,
                        seconds: Double(options.wrkSeconds))
                    figures["transport_per_s"] = Measure.format(bare, digits: 1)
                }

                let refreshCount = min(options.refreshes, fleet.renewable.count)
                let throughput = try phase(
                    "throughput", copyOf: base, environment: environment, fleet: fleet,
                    due: Array(fleet.renewable.prefix(refreshCount))
                ) { _, now in now.addingTimeInterval(-1) }
                figures.merge(throughput) { $1 }
                rss.append(Double(throughput["peak_rss_mb"] ?? "0") ?? 0)
                let refreshRate = Double(throughput["refresh_per_s"] ?? "0") ?? 0
                figures["refresh_ratio"] = Measure.format(refreshRate / wrkRate, digits: 4)
            }
            if options.network, options.phases.contains("lateness") {
                let dueCount = min(options.due, fleet.renewable.count)
                let stride = max(1, fleet.renewable.count / max(1, dueCount))
                let duePositions = (0..<dueCount).map { fleet.renewable[($0 * stride) % fleet.renewable.count] }
                let window = options.dueWindow
                let lateness = try phase(
                    "lateness", copyOf: base, environment: environment, fleet: fleet, due: duePositions
                ) { k, now in
                    // Leave the child time to start and load the fleet before the first falls due.
                    now.addingTimeInterval(20 + window * Double(k) / Double(max(1, dueCount)))
                }
                figures.merge(lateness) { $1 }
                rss.append(Double(lateness["peak_rss_mb"] ?? "0") ?? 0)
            }
            // Prepared phases ran nothing: no figure to print.
            if options.prepareOnly { continue }
            figures["peak_rss_mb_frames"] = frames["peak_rss_mb"]
            figures["peak_rss_mb"] = Measure.format(rss.max() ?? 0, digits: 1)
            printBlock(figures)
            table.append(figures)
            if options.work == nil { try? removeDatabase(base) }
        }
        if table.count > 1 { printSideBySide(table) }
        if let endpoint, options.phases.contains("pg"), !options.prepareOnly {
            let phase = PostgresPhase(options: options, tokenURL: endpoint.url, work: work, environment: environment)
            let shared = try phase.run()
            FileHandle.standardOutput.write(Data(shared.map { "\($0.0) \($0.1)\n" }.joined().utf8))
        }
        if options.work == nil { try? FileManager.default.removeItem(atPath: work) }
    }

    /// Copies the base fleet, makes `due` connections due, and runs `name` on the copy in a fresh process.
    private func phase(
        _ name: String, copyOf base: String, environment: [String: String], fleet: Fleet? = nil, due: [Int] = [],
        dueAt: ((Int, Date) -> Date)? = nil
    ) throws -> [String: String] {
        let path = base.replacingOccurrences(of: ".sqlite3", with: "-\(name).sqlite3")
        try removeDatabase(path)
        try FileManager.default.copyItem(atPath: base, toPath: path)
        if let fleet, let dueAt {
            let secrets = try SecretBox.load(environment: environment)
            let store = try Store.open(path: path, secrets: secrets, create: false)
            let now = Date()
            try fleet.makeDue(due, in: store, at: now, policy: .standard) { dueAt($0, now) }
        }
        let executable = try Self.ownExecutable()
        let arguments =
            ["--phase", name, "--db", path, "--started-at", "\(Measure.monotonicNanoseconds())"]
            + options.childArguments
        if options.prepareOnly {
            say("prepared: \(executable) \(arguments.joined(separator: " "))")
            return [:]
        }
        let child = try Subprocess(executable, arguments, environment: environment, capture: true)
        let (output, status) = child.finish()
        if options.work == nil { try? removeDatabase(path) }
        guard status == 0 else { throw BenchError("the \(name) phase failed (exit \(status))") }
        var figures: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { figures[parts[0]] = parts[1] }
        }
        return figures
    }

    private func printBlock(_ figures: [String: String]) {
        var lines = ["connections \(figures["connections"] ?? "?")"]
        for name in Self.order { if let value = figures[name] { lines.append("\(name) \(value)") } }
        for (name, value) in figures.sorted(by: { $0.key < $1.key })
        where name != "connections" && !Self.order.contains(name) {
            lines.append("\(name) \(value)")
        }
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n\n").utf8))
    }

    /// The figures of every fleet size beside each other, for reading; on standard error, so standard output keeps
    /// one figure per line.
    private func printSideBySide(_ table: [[String: String]]) {
        let names = ["connections"] + Self.order
        var text = ""
        for name in names {
            text += name.padding(toLength: 26, withPad: " ", startingAt: 0)
            for figures in table { text += (figures[name] ?? "-").leftPadded(to: 12) }
            text += "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    private func removeDatabase(_ path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    private func say(_ text: String) {
        FileHandle.standardError.write(Data("tokentop-bench: \(text)\n".utf8))
    }

    private static func temporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/tokentop-bench.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw BenchError("cannot create a temporary directory") }
        return String(cString: made)
    }

    /// The environment of a `tokentop` the benchmark starts: its key, and no configuration file or store of the
    /// user's.
    static func commandEnvironment(_ environment: [String: String], work: String) -> [String: String] {
        var environment = environment
        for name in ["TOKENTOP_CONFIG", "TOKENTOP_STORE", "TOKENTOP_DB"] { environment[name] = nil }
        environment["XDG_CONFIG_HOME"] = work + "/no-config"
        return environment
    }

    /// `tokentop`, built beside this benchmark in the same build directory.
    static func tokentopExecutable() throws -> String {
        let directory = (try ownExecutable() as NSString).deletingLastPathComponent
        let path = directory + "/tokentop"
        guard access(path, X_OK) == 0 else {
            throw BenchError("no tokentop beside this benchmark at \(path); build it (--product tokentop) first")
        }
        return path
    }

    static func ownExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw BenchError("cannot find this executable through /proc/self/exe") }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
