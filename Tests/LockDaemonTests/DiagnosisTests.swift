import Foundation
import LockDaemon
import LockDiagAPI
import LockProtocol
import Testing

/// Synthetic 1 kHz traces with the shape of a DC motor driving a bolt.
enum Traces {
    static func actuation(runMs: Int, runningMa: Int = 250, endSpike: Bool = true, inrushMa: Int = 1400, spikeMa: Int = 1500) -> [UInt16] {
        var samples: [UInt16] = []
        for t in 0..<runMs {
            // Inrush decaying with a ~12 ms time constant toward the running current.
            let decay = Double(inrushMa - runningMa) * exp(-Double(t) / 12)
            samples.append(UInt16(Double(runningMa) + decay + Double((t * 7) % 11) - 5))
        }
        if endSpike { for _ in 0..<30 { samples.append(UInt16(spikeMa)) } }
        return samples
    }
}

@Suite struct TraceAnalysisTests {
    let c = DiagnosisConfiguration()

    @Test func healthyActuationIsNormalWithItsEndStop() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 700), sampleRateHz: 1000, boltReachedEnd: true,
                                      usualTravelMilliseconds: 700, configuration: c)
        #expect(a.verdict == .normal)
        #expect(a.endStopAtMilliseconds == 700)
        #expect((240...260).contains(a.runningMilliamps))
        #expect(a.peakMilliamps >= 1400)
    }

    @Test func earlySpikeWithTheBoltShortOfItsEndIsAStall() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 310), sampleRateHz: 1000, boltReachedEnd: false,
                                      usualTravelMilliseconds: nil, configuration: c)
        #expect(a.verdict == .stall)
        #expect(a.endStopAtMilliseconds == 310)
        #expect(a.evidence.contains("310 ms"))
    }

    @Test func earlySpikeAgainstTheLearntTravelTimeIsAStallEvenWithoutABoltSensor() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 300), sampleRateHz: 1000, boltReachedEnd: nil,
                                      usualTravelMilliseconds: 720, configuration: c)
        #expect(a.verdict == .stall)
        let b = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 650), sampleRateHz: 1000, boltReachedEnd: nil,
                                      usualTravelMilliseconds: 720, configuration: c)
        #expect(b.verdict == .normal)
    }

    @Test func noCurrentIsAnOpenCircuit() {
        let a = TraceAnalysis.analyze(samplesMilliamps: [UInt16](repeating: 4, count: 100), sampleRateHz: 1000, boltReachedEnd: false,
                                      usualTravelMilliseconds: nil, configuration: c)
        #expect(a.verdict == .openCircuit)
    }

    @Test func longNoLoadRunIsAClutchSlip() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 3000, runningMa: 90, endSpike: false, inrushMa: 900),
                                      sampleRateHz: 1000, boltReachedEnd: false, usualTravelMilliseconds: nil, configuration: c)
        #expect(a.verdict == .clutchSlip)
        #expect(a.runningMilliamps < 140)
    }

    @Test func aSlowButLoadedRunIsNotAClutchSlip() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 3000, runningMa: 260, endSpike: false),
                                      sampleRateHz: 1000, boltReachedEnd: false, usualTravelMilliseconds: nil, configuration: c)
        #expect(a.verdict == .noEndStop)
    }

    @Test func overcurrentWins() {
        let a = TraceAnalysis.analyze(samplesMilliamps: Traces.actuation(runMs: 500, spikeMa: 2700), sampleRateHz: 1000,
                                      boltReachedEnd: true, usualTravelMilliseconds: nil, configuration: c)
        #expect(a.verdict == .overcurrent)
    }
}

@Suite struct FaultTableTests {
    func frame() -> FreezeFrame { FreezeFrame(capturedAt: "t", evidence: "e") }

    @Test func pendingThenConfirmedThenHealed() {
        var t = FaultTable(confirmAfter: 2, healAfter: 3)
        #expect(t.fail(0x0101, kind: .event, fromDevice: false, at: 1, evidence: "a", freeze: frame) == .raised)
        #expect(t.entry(0x0101)?.status == .pending)
        #expect(t.entry(0x0101)?.freezeFrame == nil)
        #expect(t.fail(0x0101, kind: .event, fromDevice: false, at: 2, evidence: "b", freeze: frame) == .confirmed)
        #expect(t.entry(0x0101)?.freezeFrame != nil)
        #expect(t.entry(0x0101)?.count == 2)
        #expect(t.pass(0x0101) == nil)
        #expect(t.pass(0x0101) == nil)
        #expect(t.pass(0x0101) == .healed)
        #expect(t.entry(0x0101)?.status == .healed)
        #expect(t.fail(0x0101, kind: .event, fromDevice: true, at: 9, evidence: "c", freeze: frame) == .reoccurred)
        #expect(t.entry(0x0101)?.status == .pending)
        #expect(t.entry(0x0101)?.source == "both")
        #expect(t.entry(0x0101)?.firstSeenMilliseconds == 1 && t.entry(0x0101)?.lastSeenMilliseconds == 9)
    }

    @Test func anIntermittentFaultStillConfirms() {
        var t = FaultTable(confirmAfter: 2, healAfter: 3)
        _ = t.fail(0x0101, kind: .event, fromDevice: false, at: 1, evidence: "lock jammed", freeze: frame)
        _ = t.pass(0x0101)
        #expect(t.fail(0x0101, kind: .event, fromDevice: false, at: 3, evidence: "lock jammed", freeze: frame) == .confirmed)
    }

    @Test func conditionsCountEpisodesNotChecks() {
        var t = FaultTable(confirmAfter: 2, healAfter: 1)
        for s in 0..<5 { _ = t.fail(0x0201, kind: .condition, fromDevice: false, at: Int64(s), evidence: "low", freeze: frame) }
        #expect(t.entry(0x0201)?.count == 1)
        _ = t.pass(0x0201)
        _ = t.fail(0x0201, kind: .condition, fromDevice: false, at: 10, evidence: "low", freeze: frame)
        #expect(t.entry(0x0201)?.count == 2)
    }

    @Test func aSourceThatDebouncedItselfConfirmsAtOnce() {
        var t = FaultTable(confirmAfter: 5, healAfter: 3)
        #expect(t.fail(0x0101, kind: .condition, fromDevice: true, at: 1, evidence: "memory", confirmed: true, occurrences: 3, freeze: frame) == .confirmed)
        #expect(t.entry(0x0101)?.count == 3)
        #expect(t.entry(0x0101)?.source == "device")
    }

    @Test func cleanChecksOfAnUnknownFaultCreateNothingAndClearForgets() {
        var t = FaultTable(confirmAfter: 2, healAfter: 3)
        #expect(t.pass(0x0201) == nil)
        #expect(t.entries.isEmpty)
        _ = t.fail(0x0201, kind: .condition, fromDevice: false, at: 1, evidence: "x", freeze: frame)
        _ = t.fail(0x0701, kind: .event, fromDevice: true, at: 1, evidence: "x", freeze: frame)
        _ = t.fail(0x0701, kind: .event, fromDevice: true, at: 2, evidence: "x", freeze: frame)
        #expect(t.ordered.map(\.code) == [0x0701, 0x0201])
        #expect(t.clear() == 2)
        #expect(t.entries.isEmpty)
    }
}
