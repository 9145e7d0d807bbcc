import Foundation
import Synchronization

/// A TCP relay on 127.0.0.1 in front of a local server, that a test can tell to turn new connections away while
/// the ones already relayed keep working: a network that drops one session and keeps it from coming back.
///
/// Each relayed connection is pumped by two threads of its own, one per direction, until either side closes.
final class TCPRelay: Sendable {
    /// The port the relay listens on.
    let port: Int
    private let target: Int
    private let listener: Int32
    private let refusing = Atomic<Bool>(false)
    private let closed = Atomic<Bool>(false)

    /// Starts relaying a kernel-chosen port on 127.0.0.1 to `127.0.0.1:target`.
    init(to target: Int) throws {
        self.target = target
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket: errno \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, 64) == 0 else {
            close(descriptor)
            throw Failure("bind/listen on 127.0.0.1: errno \(errno)")
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        listener = descriptor
        port = Int(UInt16(bigEndian: local.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    deinit { stop() }

    /// From now on, a new connection is accepted and closed at once, as a server that went away would; the ones
    /// already relayed carry on.
    func refuseNewConnections(_ refuse: Bool) { refusing.store(refuse, ordering: .releasing) }

    /// Stops accepting; relayed connections end when either side closes them.
    func stop() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !closed.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            if refusing.load(ordering: .acquiring) {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard upstream >= 0, connected == 0 else {
                close(client)
                if upstream >= 0 { close(upstream) }
                continue
            }
            // Each direction ends by shutting down the other side's writing half; the last one closes both.
            let remaining = Pair(client: client, upstream: upstream)
            Thread.detachNewThread { Self.pump(from: client, to: upstream, pair: remaining) }
            Thread.detachNewThread { Self.pump(from: upstream, to: client, pair: remaining) }
        }
    }

    /// Two descriptors closed once both directions have ended.
    private final class Pair: Sendable {
        let client: Int32
        let upstream: Int32
        private let ended = Atomic<Int>(0)

        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }

        func directionEnded() {
            guard ended.add(1, ordering: .acquiringAndReleasing).newValue == 2 else { return }
            close(client)
            close(upstream)
        }
    }

    private static func pump(from source: Int32, to destination: Int32, pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        loop: while true {
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer that closed must not raise SIGPIPE, which would end the test process.
                let written = buffer.withUnsafeBytes {
                    send(destination, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL))
                }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { break loop }
                sent += written
            }
        }
        // Both directions stop: a relay that half-closes would leave libpq waiting on a dead session.
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
        pair.directionEnded()
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// The relay could not listen; the message names the system call and errno.
    struct Failure: Error, CustomStringConvertible {
        let description: String

        init(_ description: String) {
            self.description = description
        }
    }
}
