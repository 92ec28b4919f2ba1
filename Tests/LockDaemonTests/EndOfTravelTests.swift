import LockDaemon
import Testing

/// docs/commissioning.md "The end-of-travel profile": the running current from the middle of the
/// travel, the end-of-travel current from its last 20 % before the end-stop spike.
@Suite struct EndOfTravelTests {
    /// 60 ms inrush at 1400 mA, `travel` ms of running current shaped by `end`, then 30 ms of spike.
    static func trace(travel: Int, end: (Double) -> Int) -> (samples: [Int], endStop: Int) {
        let samples = Array(repeating: 1400, count: 60) + (0..<travel).map { end(Double($0) / Double(travel)) } + Array(repeating: 1450, count: 30)
        return (samples, 60 + travel)
    }

    @Test func aFlatRunIsAboutOneAndARubAtTheEndIsMore() throws {
        let configuration = DiagnosisConfiguration()
        let flat = Self.trace(travel: 700) { _ in 250 }
        let free = try #require(EndOfTravelProfile.measure(samplesMilliamps: flat.samples, sampleRateHz: 1000, endStopAtMilliseconds: flat.endStop,
                                                           configuration: configuration))
        #expect(free.runningMilliamps == 250 && free.endMilliamps == 250 && free.ratio == 1)
        // A rub rising from 0 at 80 % of the travel to +200 mA at the end stop.
        let rubbing = Self.trace(travel: 700) { x in 250 + Int(max(0, x - 0.8) / 0.2 * 200) }
        let rub = try #require(EndOfTravelProfile.measure(samplesMilliamps: rubbing.samples, sampleRateHz: 1000,
                                                          endStopAtMilliseconds: rubbing.endStop, configuration: configuration))
        #expect(rub.runningMilliamps == 250 && (1.35...1.45).contains(rub.ratio), "\(rub)")
        // The spike is not part of the end of travel: without the end stop the median would be the spike's.
        #expect(rub.endMilliamps < 1000)
    }

    @Test func aTraceTooShortToSplitSaysNothing() {
        let short = Self.trace(travel: 50) { _ in 250 }
        #expect(EndOfTravelProfile.measure(samplesMilliamps: short.samples, sampleRateHz: 1000, endStopAtMilliseconds: short.endStop,
                                           configuration: DiagnosisConfiguration()) == nil)
        #expect(EndOfTravelProfile.measure(samplesMilliamps: [], sampleRateHz: 1000, endStopAtMilliseconds: nil,
                                           configuration: DiagnosisConfiguration()) == nil)
    }
}
