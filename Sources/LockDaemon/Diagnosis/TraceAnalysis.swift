/// What the daemon reads in one motor-current trace, independently of what the lock reported.
public struct TraceAnalysis: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        /// Inrush, running current, end-stop spike: a healthy actuation.
        case normal
        /// The current spiked to stall level before the bolt could have reached its end position.
        case stall = "stall"
        /// (Almost) no current: open motor circuit.
        case openCircuit = "open_circuit"
        /// Long run at no-load current, no end stop: the clutch does not transmit.
        case clutchSlip = "clutch_slip"
        case overcurrent
        /// Ran without an end-stop spike, at normal load (slow bolt, or the trace was cut short).
        case noEndStop = "no_end_stop"
    }

    public var verdict: Verdict
    public var durationMilliseconds: Int
    public var peakMilliamps: Int
    /// Median current between the inrush and the spike (or the end).
    public var runningMilliamps: Int
    /// When the sustained spike began, if there was one.
    public var endStopAtMilliseconds: Int?
    /// A sentence a technician can read.
    public var evidence: String

    /// Analyses `samples` taken at `sampleRateHz`. `boltReachedEnd` is the lock's own bolt sensor
    /// after the actuation (nil when unknown); `usualTravelMilliseconds` is this lock's typical
    /// time to its end stop, learnt from earlier actuations (nil until known).
    public static func analyze(samplesMilliamps samples: [UInt16], sampleRateHz: Int, boltReachedEnd: Bool?,
                               usualTravelMilliseconds: Int?, configuration c: DiagnosisConfiguration) -> TraceAnalysis {
        let rate = max(sampleRateHz, 1)
        func ms(_ index: Int) -> Int { index * 1000 / rate }
        let duration = ms(samples.count)
        let peak = Int(samples.max() ?? 0)
        if samples.isEmpty || peak < c.openCircuitMaxMilliamps {
            return TraceAnalysis(verdict: .openCircuit, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: 0,
                                 endStopAtMilliseconds: nil,
                                 evidence: "motor energised for \(duration) ms but the current never exceeded \(peak) mA")
        }
        let inrushEnd = min(samples.count, c.inrushWindowMilliseconds * rate / 1000)
        // The running current, from the first half of the post-inrush window (before any spike).
        let probeEnd = max(inrushEnd + 1, min(samples.count, inrushEnd + max(1, (samples.count - inrushEnd) / 2)))
        let running = median(samples[min(inrushEnd, samples.count - 1)..<min(probeEnd, samples.count)])
        let threshold = max(c.stallCurrentMilliamps, Int(Double(running) * c.stallToRunningRatio))
        let needed = max(1, c.stallMinimumMilliseconds * rate / 1000)
        var spikeStart: Int?
        var run = 0
        for index in inrushEnd..<samples.count {
            if Int(samples[index]) >= threshold {
                run += 1
                if run >= needed {
                    spikeStart = index - run + 1
                    break
                }
            } else {
                run = 0
            }
        }
        let runningBeforeSpike = spikeStart.map { median(samples[inrushEnd..<max(inrushEnd + 1, $0)]) } ?? running
        if peak >= c.overcurrentMilliamps {
            return TraceAnalysis(verdict: .overcurrent, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: runningBeforeSpike,
                                 endStopAtMilliseconds: spikeStart.map(ms),
                                 evidence: "current reached \(peak) mA, above the \(c.overcurrentMilliamps) mA protection limit")
        }
        if let start = spikeStart {
            let at = ms(start)
            var jam = boltReachedEnd == false
            if !jam, let usual = usualTravelMilliseconds, Double(at) < Double(usual) * c.jamTravelFraction { jam = true }
            if jam {
                let context = boltReachedEnd == false ? "the bolt did not reach its end position" :
                    "the usual travel to the end stop is \(usualTravelMilliseconds ?? 0) ms"
                return TraceAnalysis(verdict: .stall, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: runningBeforeSpike,
                                     endStopAtMilliseconds: at,
                                     evidence: "current rose to stall level (≥ \(threshold) mA) at \(at) ms; \(context)")
            }
            return TraceAnalysis(verdict: .normal, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: runningBeforeSpike,
                                 endStopAtMilliseconds: at, evidence: "end stop reached at \(at) ms, running current \(runningBeforeSpike) mA")
        }
        let wholeRunning = median(samples[inrushEnd..<samples.count])
        if duration >= c.clutchMinimumMilliseconds && wholeRunning < c.clutchNoLoadMaxMilliamps {
            return TraceAnalysis(verdict: .clutchSlip, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: wholeRunning,
                                 endStopAtMilliseconds: nil,
                                 evidence: "motor ran \(duration) ms at no-load current (\(wholeRunning) mA < \(c.clutchNoLoadMaxMilliamps) mA) without reaching an end stop")
        }
        return TraceAnalysis(verdict: .noEndStop, durationMilliseconds: duration, peakMilliamps: peak, runningMilliamps: wholeRunning,
                             endStopAtMilliseconds: nil, evidence: "no end-stop spike in \(duration) ms, running current \(wholeRunning) mA")
    }

    private static func median(_ slice: ArraySlice<UInt16>) -> Int {
        guard !slice.isEmpty else { return 0 }
        let sorted = slice.sorted()
        return Int(sorted[sorted.count / 2])
    }
}
