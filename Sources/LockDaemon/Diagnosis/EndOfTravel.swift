import LockDiagAPI
import LockProtocol

/// The motor current near the end of a throw against the running current: a bolt rubbing on a
/// misaligned keep works harder over the last part of its travel (docs/commissioning.md).
public struct EndOfTravelProfile: Sendable, Equatable {
    /// The last part of the travel before the end stop that is compared: the bolt enters the keep
    /// over its last ~4 mm of a ~20 mm throw.
    public static let endFraction = 0.20
    /// The running current is read from this part of the travel after the inrush (clear of the
    /// inrush's tail and of the keep).
    public static let runningFractions = 0.15..<0.60

    /// Median current over the middle of the travel.
    public var runningMilliamps: Int
    /// Median current over the last `endFraction` of the travel, before the end-stop spike.
    public var endMilliamps: Int

    /// `endMilliamps / runningMilliamps`.
    public var ratio: Double { Double(endMilliamps) / Double(max(1, runningMilliamps)) }

    /// Measures a trace: the travel runs from the end of the inrush to the end-stop spike (or
    /// to the end of the trace when there was none). nil when the travel is too short to split
    /// (under 100 ms, or a trace that never ran).
    public static func measure(samplesMilliamps samples: [Int], sampleRateHz: Int, endStopAtMilliseconds: Int?,
                               configuration c: DiagnosisConfiguration) -> EndOfTravelProfile? {
        let rate = max(1, sampleRateHz)
        let start = min(samples.count, c.inrushWindowMilliseconds * rate / 1000)
        let end = min(samples.count, endStopAtMilliseconds.map { $0 * rate / 1000 } ?? samples.count)
        let travel = end - start
        guard travel >= rate / 10 else { return nil }
        func index(_ fraction: Double) -> Int { start + Int(Double(travel) * fraction) }
        let running = median(samples[index(runningFractions.lowerBound)..<index(runningFractions.upperBound)])
        let last = median(samples[index(1 - endFraction)..<end])
        guard running > 0 else { return nil }
        return EndOfTravelProfile(runningMilliamps: running, endMilliamps: last)
    }

    private static func median(_ slice: ArraySlice<Int>) -> Int {
        guard !slice.isEmpty else { return 0 }
        let sorted = slice.sorted()
        return sorted[sorted.count / 2]
    }
}

extension DiagnosisTable {
    /// Strike alignment: a lock throw with the door closed against the free-running one (door
    /// open) of the same lock. Their end-of-travel ratios differ by ripple and noise only on a
    /// well-fitted door; `maxRise` is how much larger the closed one may be.
    static func strikeAlignment(closedRatio: Double, freeRatio: Double, maxRise: Double) -> (rise: Double, verdict: CheckVerdict) {
        let rise = closedRatio / max(0.01, freeRatio)
        let evidence = "with the door closed the current over the last \(Int(EndOfTravelProfile.endFraction * 100)) % of the lock throw is "
            + "\(percent(closedRatio)) of the running current, with the door open \(percent(freeRatio)): "
            + "\(CanonicalRounding.three(rise))× (limit \(CanonicalRounding.three(maxRise))×)"
        return (rise, rise > maxRise ? .failed(FaultCode.strikeMisaligned, evidence, kind: .event) : .passed(FaultCode.strikeMisaligned))
    }

    private static func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded())) %" }
}

/// Numbers rounded for signed JSON and for text: three decimals say all a ratio carries, and
/// stay clear of the tiny or huge values canonical JSON tools write differently.
enum CanonicalRounding {
    static func three(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

extension DiagnosisTable {
    /// Strike alignment in normal use: a lock throw that reached its end stop with the door
    /// open teaches the lock's free-running end-of-travel ratio (a slow moving average, as the
    /// usual travel time is learnt); one with the door closed is judged against it. Nothing is
    /// said before a door-open throw was seen, for unlock throws (the keep is at their start),
    /// or for a throw that did not reach its end (the motor checks judge those).
    static func strikeAlignment(_ summary: ActuationSummary, samples: [Int], door: DoorState?, freeRunning: inout Double?,
                                _ c: DiagnosisConfiguration) -> [CheckVerdict] {
        guard summary.direction == "lock", summary.result == ActuationResult.reached.name, summary.analysis == TraceAnalysis.Verdict.normal.rawValue,
              let door, door != .unknown,
              let profile = EndOfTravelProfile.measure(samplesMilliamps: samples, sampleRateHz: summary.sampleRateHz,
                                                       endStopAtMilliseconds: summary.endStopAtMilliseconds, configuration: c) else { return [] }
        if door == .open {
            freeRunning = freeRunning.map { ($0 * 3 + profile.ratio) / 4 } ?? profile.ratio
            return []
        }
        guard let free = freeRunning else { return [] }
        var verdict = strikeAlignment(closedRatio: profile.ratio, freeRatio: free, maxRise: c.strikeRiseMaximum).verdict
        verdict.actuation = summary
        return [verdict]
    }
}
