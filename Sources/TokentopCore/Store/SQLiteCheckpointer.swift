import CSQLite
import Foundation
import Synchronization

/// Checkpoints an SQLite database's write-ahead log twice a second, on a thread and a connection of its own.
///
/// PASSIVE checkpoints copy what no reader still needs and never wait for a writer or make one wait, so the
/// writer's commits only append to the log. The log is restarted from its beginning by the next writer once a
/// checkpoint has copied all of it.
final class SQLiteCheckpointer: Sendable {
    private let stopped = Atomic<Bool>(false)
    /// The log's length, in frames (256 MiB of 4 KiB pages), past which a checkpoint restarts it.
    static let longLogFrames: Int32 = 65_536

    /// Opens the second connection and starts the thread; nil when the database cannot be opened again.
    init?(path: String) {
        var opened: OpaquePointer?
        guard sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            let handle = opened
        else {
            sqlite3_close_v2(opened)
            return nil
        }
        sqlite3_busy_timeout(handle, 1000)
        // A connection learns that the file is in WAL mode when it first reads it; until then a checkpoint is a
        // no-op that reports no log (-1), and the log grew without end, a page a second for an idle daemon.
        guard sqlite3_exec(handle, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK else {
            sqlite3_close_v2(handle)
            return nil
        }
        let connection = Handle(handle)
        // The thread keeps this object until ``stop()``.
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.5)
                var logged: Int32 = 0
                var copied: Int32 = 0
                sqlite3_wal_checkpoint_v2(connection.pointer, nil, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied)
                if logged >= Self.longLogFrames {
                    // A storm's commits never leave the log fully copied between two of them, so it is never
                    // restarted and grows (850 MB in 50,000 refreshes): past this length the writer waits once, for
                    // the frames still to copy, and the log starts again from its beginning.
                    sqlite3_wal_checkpoint_v2(connection.pointer, nil, SQLITE_CHECKPOINT_RESTART, &logged, &copied)
                }
            }
            sqlite3_close_v2(connection.pointer)
        }
        thread.name = "tokentop-checkpoint"
        thread.start()
    }

    /// Ends the thread after its current checkpoint; it closes its connection.
    func stop() { stopped.store(true, ordering: .releasing) }

    /// The connection, handed to the thread that alone uses it from then on.
    private final class Handle: @unchecked Sendable {
        // @unchecked Sendable: created here and then used only by the checkpoint thread.
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }
}
