import LockProtocol

/// The last actuation's motor-current trace, as the controller keeps it (§6.3): preallocated,
/// `capacity` samples, later samples of a longer actuation dropped and the trace marked truncated.
struct TraceBuffer {
    static let capacity = 4096

    private(set) var actuation: UInt16 = 0
    private(set) var samples: [UInt16]
    /// Battery terminal voltage at each sample: not part of the §6.3 trace, but the firmware
    /// keeps it to report `battery_loaded_mv` over the §7.2 window.
    private(set) var millivolts: [UInt16]
    private(set) var count = 0
    private(set) var truncated = false
    private(set) var complete = false
    /// Whether any actuation has been recorded since power-up.
    private(set) var holdsTrace = false

    init() {
        samples = [UInt16](repeating: 0, count: Self.capacity)
        millivolts = [UInt16](repeating: 0, count: Self.capacity)
    }

    mutating func begin(actuation: UInt16) {
        self.actuation = actuation
        count = 0
        truncated = false
        complete = false
        holdsTrace = true
    }

    mutating func append(milliamps: UInt16, millivolts terminal: UInt16) {
        guard count < Self.capacity else { truncated = true; return }
        samples[count] = milliamps
        millivolts[count] = terminal
        count += 1
    }

    /// Mean current and mean terminal voltage over `window`.
    func means(over window: Range<Int>) -> (milliamps: UInt16, millivolts: UInt16) {
        let range = window.clamped(to: 0..<count)
        guard !range.isEmpty else { return (0, 0) }
        var amps = 0
        var volts = 0
        for i in range {
            amps += Int(samples[i])
            volts += Int(millivolts[i])
        }
        return (UInt16(amps / range.count), UInt16(volts / range.count))
    }

    mutating func finish() { complete = true }

    /// Up to `maxCount` samples from `firstIndex` (none when it is past the end).
    func chunk(firstIndex: Int, maxCount: Int) -> TraceChunk {
        let first = min(firstIndex, count)
        let end = min(count, first + max(0, maxCount))
        return TraceChunk(actuation: actuation, sampleRateHz: UInt16(ActuationRun.sampleRateHz), totalSamples: UInt16(count),
                          complete: complete, truncated: truncated, firstIndex: UInt16(firstIndex),
                          samplesMilliamps: Array(samples[first..<end]))
    }
}

/// One actuation in progress, with the firmware's decisions about when to stop and why.
///
/// The rules are those of a typical lock controller: the motor runs into the end stop and is
/// stopped by current sensing (no end switch needed); the inrush is ignored; a run with no
/// current at all is an open circuit; a hard current limit protects the driver; a run that never
/// stalls is cut off by a timeout.
struct ActuationRun {
    static let sampleRateHz = 1000
    static let samplePeriodNanoseconds: UInt64 = 1_000_000
    /// Inrush lasts ~3 mechanical time constants (~30 ms); 50 ms leaves margin on a weak battery.
    static let inrushWindowSamples = 50
    /// Well above running current (≤ 300 mA) and below stall current on the weakest supported
    /// battery (~1.15 A at 4.8 V behind 0.7 Ω): current above this means the rotor has stopped.
    static let stallThresholdMilliamps = 1000
    /// Debounce against a single spike (a hard spot in the gear train) being taken for a stall.
    static let stallConfirmSamples = 20
    /// Below the no-load current of any healthy motor, above the shunt amplifier's noise floor.
    static let openCircuitMilliamps = 20
    static let openCircuitWindowSamples = 100
    /// The H-bridge's safe limit; nothing healthy (stall ≈ 1.6 A on a fresh pack) reaches it.
    static let overcurrentMilliamps = 2500
    /// Three times the slowest healthy stroke (~1 s on a nearly empty pack).
    static let timeoutSamples = 3000
    /// Position-sensor band that counts as "at the end position".
    static let endZone = 0.05
    /// Short-circuit braking after power is cut, shown as motor state `braking`.
    static let brakeNanoseconds: UInt64 = 20_000_000

    let actuation: UInt16
    let direction: Direction
    let source: ActuationSource
    let startNanoseconds: UInt64
    let restMillivolts: UInt16
    var samples = 0
    var peakMilliamps: UInt16 = 0
    var lastMilliamps: UInt16 = 0
    private var aboveStallThreshold = 0
    private var maxInOpenWindow: UInt16 = 0
    /// Samples already sent in TRACE_CHUNK events.
    var streamed = 0

    init(actuation: UInt16, direction: Direction, source: ActuationSource, startNanoseconds: UInt64, restMillivolts: UInt16) {
        self.actuation = actuation
        self.direction = direction
        self.source = source
        self.startNanoseconds = startNanoseconds
        self.restMillivolts = restMillivolts
    }

    /// When the next sample is due.
    var nextSampleNanoseconds: UInt64 { startNanoseconds + UInt64(samples) * Self.samplePeriodNanoseconds }

    /// Records one sample and returns the verdict when the firmware stops the motor on it.
    mutating func record(milliamps: UInt16, boltPosition: Double) -> ActuationResult? {
        samples += 1
        lastMilliamps = milliamps
        peakMilliamps = max(peakMilliamps, milliamps)

        if Int(milliamps) > Self.overcurrentMilliamps { return .overcurrent }
        if samples <= Self.openCircuitWindowSamples {
            maxInOpenWindow = max(maxInOpenWindow, milliamps)
            if samples == Self.openCircuitWindowSamples, Int(maxInOpenWindow) < Self.openCircuitMilliamps { return .openCircuit }
        }
        if samples > Self.inrushWindowSamples {
            aboveStallThreshold = Int(milliamps) > Self.stallThresholdMilliamps ? aboveStallThreshold + 1 : 0
            if aboveStallThreshold > Self.stallConfirmSamples {
                return isAtEnd(boltPosition) ? .reached : .stalled
            }
        }
        if samples >= Self.timeoutSamples { return .timeout }
        return nil
    }

    func isAtEnd(_ position: Double) -> Bool {
        direction == .lock ? position >= 1 - Self.endZone : position <= Self.endZone
    }

    /// The §7.2 window: the first 15 % and the last 10 % of the samples excluded.
    var runningWindow: Range<Int> {
        let lower = samples * 15 / 100
        let upper = samples - (samples * 10 + 9) / 100
        return lower < upper ? lower..<upper : 0..<samples
    }
}

extension ActuationResult {
    /// The fault-memory code a result stands for; nil for `reached`.
    var faultCode: UInt16? {
        switch self {
        case .stalled: FaultCode.motorStall
        case .openCircuit: FaultCode.motorOpenCircuit
        case .overcurrent: FaultCode.motorOvercurrent
        case .timeout: FaultCode.actuationTimeout
        default: nil
        }
    }

    /// Codes a run that reached its end shows to be no longer failing.
    static let motorFaultCodes: [UInt16] = [
        FaultCode.motorStall, FaultCode.motorOpenCircuit, FaultCode.motorOvercurrent, FaultCode.actuationTimeout,
    ]
}
