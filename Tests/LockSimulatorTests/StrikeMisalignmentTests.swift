import LockProtocol
@testable import LockSimulator
import Testing

/// `strike-misaligned` (docs/simulator.md): door closed, the bolt rubs on the keep over its last
/// fifth of travel and one lock throw in four stops short; door open, it runs free.
@Suite struct StrikeMisalignmentTests {
    /// Median current over the last 20 % of the travel before the end-stop spike, over the median
    /// of the middle of the travel (the same split lockdiagd's EndOfTravelProfile makes).
    static func endOfTravelRatio(_ samples: [UInt16]) -> Double {
        let start = 60
        let end = (start..<samples.count).first { samples[$0] > 1000 } ?? samples.count
        let travel = end - start
        func median(_ range: Range<Int>) -> Double { Double(samples[range].sorted()[range.count / 2]) }
        let running = median((start + travel * 15 / 100)..<(start + travel * 60 / 100))
        return median((start + travel * 80 / 100)..<end) / running
    }

    /// Lock throws from the unlocked end; returns each lock throw's result and ratio.
    static func lockThrows(_ host: LockHarness, count: Int) throws -> [(finished: ActuationFinished, ratio: Double, position: Double)] {
        var out: [(ActuationFinished, Double, Double)] = []
        for _ in 0..<count {
            _ = try #require(host.actuate(.unlock))
            let finished = try #require(host.actuate(.lock))
            let samples = try #require(host.readLatestTrace())
            out.append((finished, endOfTravelRatio(samples), host.lock.boltPosition))
        }
        return out
    }

    @Test func doorOpenTheBoltRunsFreeAsOnAHealthyLock() throws {
        let healthy = LockHarness(.healthy)
        let misaligned = LockHarness(.strikeMisaligned)
        misaligned.lock.doorOpen = true
        let free = try Self.lockThrows(misaligned, count: 6)
        let reference = try Self.lockThrows(healthy, count: 6)
        #expect(free.allSatisfy { $0.finished.result == .reached && $0.finished.bolt == .locked })
        let worstFree = free.map(\.ratio).max()!, worstHealthy = reference.map(\.ratio).max()!
        #expect(abs(worstFree - worstHealthy) < 0.08, "door open \(free.map(\.ratio)), healthy \(reference.map(\.ratio))")
    }

    @Test func doorClosedTheCurrentRisesAtTheEndAndSomeThrowsStopShort() throws {
        let host = LockHarness(.strikeMisaligned)
        host.lock.doorOpen = true
        let free = try Self.lockThrows(host, count: 4)
        host.lock.doorOpen = false
        let closed = try Self.lockThrows(host, count: 16)
        let freeRatio = free.map(\.ratio).sorted()[free.count / 2]
        let full = closed.filter { $0.finished.result == .reached }
        let short = closed.filter { $0.finished.result != .reached }
        // Every full throw rubs: at least a quarter more current at the end than free-running.
        #expect(!full.isEmpty && full.allSatisfy { $0.ratio > freeRatio * 1.25 }, "free \(freeRatio), closed \(full.map(\.ratio))")
        #expect(full.allSatisfy { $0.finished.bolt == .locked })
        // About one in four stops short, in the keep: stalled, bolt intermediate.
        #expect((1...8).contains(short.count), "\(short.count) of 16 short")
        for s in short {
            #expect(s.finished.result == .stalled && s.finished.bolt == .intermediate)
            #expect(DriveTrain.shortThrowRange.contains(s.position) || abs(s.position - DriveTrain.shortThrowRange.lowerBound) < 0.01,
                    "stopped at \(s.position)")
        }
    }
}
