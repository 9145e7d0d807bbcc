import Foundation
import Synchronization
import Testing

@testable import TokentopCore

/// The gate a stop closes, and the interruption a Ctrl-C during a revocation sets.
struct StopGateTests {
    @Test func aClosedGateAdmitsNoRefreshAndCountsOnlyThoseAdmittedBefore() {
        let gate = StopGate()
        #expect(gate.admitRefresh())
        #expect(gate.admitRefresh())
        gate.refreshDone()
        gate.revocationStarted()
        #expect(gate.close() == (refreshes: 1, revocations: 1))
        #expect(!gate.admitRefresh())
        #expect(gate.inFlight == (refreshes: 1, revocations: 1))
        gate.open()
        #expect(gate.admitRefresh())
    }

    @Test func anInterruptEndsTheWaitForARequestThatNeverAnswers() async {
        let interrupt = RevocationInterrupt()
        let answered = await interrupt.race { 7 }
        #expect(answered == 7)
        let waiting = Task {
            await interrupt.race { () async -> Int in
                try? await Task.sleep(for: .seconds(3_600))
                return 1
            }
        }
        try? await Task.sleep(for: .milliseconds(50))
        interrupt.set()
        #expect(await waiting.value == nil)
    }

    @Test func aRequestRaceAfterTheInterruptIsNeverSent() async {
        let interrupt = RevocationInterrupt()
        interrupt.set()
        let sent = Atomic<Bool>(false)
        let answer = await interrupt.race { () async -> Int in
            sent.store(true, ordering: .relaxed)
            return 1
        }
        #expect(answer == nil)
        try? await Task.sleep(for: .milliseconds(50))
        let wasSent = sent.load(ordering: .relaxed)
        #expect(!wasSent)
    }
}
