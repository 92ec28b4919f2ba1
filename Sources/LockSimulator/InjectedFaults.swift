import LockProtocol

/// Faults put on a lock by hand (locksim's `noise`, `hang I mid-frame` and `flood` commands),
/// on top of whatever its scenario does: the failures a host must survive without harm to the
/// other locks it polls.
struct InjectedFaults {
    /// Chance per byte, in each direction, that one of its bits is flipped; 0 for none.
    var bitErrorRate = 0.0
    /// The next frame the lock sends is cut in half, then its communication task hangs.
    var hangMidFrame = false
    /// FAULT_RAISED events per second sent regardless of LDP/1 §4.2's limits; 0 for none.
    var floodFramesPerSecond = 0.0
    /// When the flood's next frame is due.
    var nextFloodNanoseconds: UInt64 = .max
    var random: SimulationRandom

    /// A flood's frames are produced at most this far ahead of the present, so a lock that
    /// was not advanced for a while does not send a second's worth at once.
    static let floodCatchUpLimit = 2000
}

/// What has been injected, for `status` and tests.
public struct InjectedFaultState: Sendable, Equatable {
    public var bitErrorRate: Double
    public var floodFramesPerSecond: Double
}

extension SimulatedLock {
    /// Flips one bit in roughly `rate` of the bytes on the line, both ways (a cable near the
    /// motor, a bad connector); 0 stops it. The scenario's own link faults continue.
    public func setBitErrorRate(_ rate: Double) {
        injected.bitErrorRate = min(max(rate, 0), 1)
    }

    /// The communication task hangs in the middle of its next frame: half of it goes out, then
    /// nothing more until `resume()` (which also forgets the half-sent frame).
    public func hangMidFrame() {
        injected.hangMidFrame = true
    }

    /// Floods the host with FAULT_RAISED events (motor stall) at `framesPerSecond`, ignoring
    /// the protocol's event limits, as a firmware whose fault task is stuck would; 0 stops it.
    public func flood(framesPerSecond: Double) {
        injected.floodFramesPerSecond = max(0, framesPerSecond)
        injected.nextFloodNanoseconds = framesPerSecond > 0 ? nowNanoseconds : .max
    }

    public var injectedFaults: InjectedFaultState {
        InjectedFaultState(bitErrorRate: injected.bitErrorRate, floodFramesPerSecond: injected.floodFramesPerSecond)
    }

    /// Sends the flood's frames due by `now`.
    func floodDue(until now: UInt64) {
        guard injected.floodFramesPerSecond > 0 else { return }
        let period = UInt64(max(1, 1e9 / injected.floodFramesPerSecond))
        if now > injected.nextFloodNanoseconds + period * UInt64(InjectedFaults.floodCatchUpLimit) {
            injected.nextFloodNanoseconds = now - period * UInt64(InjectedFaults.floodCatchUpLimit)
        }
        let record = DeviceFault(code: FaultCode.motorStall, status: [.testFailed, .pending, .confirmed, .failedSinceClear],
                                 occurrences: 255, firstSeenSeconds: uptimeSeconds, lastSeenSeconds: uptimeSeconds,
                                 snapshotBatteryMillivolts: batteryMillivolts, snapshotMotorCurrentMilliamps: 0,
                                 snapshotTemperatureDecicelsius: thermal.decicelsius, snapshotBolt: bolt)
        while injected.nextFloodNanoseconds <= now {
            sendEvent(.faultRaised(record))
            injected.nextFloodNanoseconds += period
        }
    }

    /// Host→device bytes as the lock receives them: with bits flipped at the injected rate.
    func impairedReceive(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        guard injected.bitErrorRate > 0 else { return nil }
        var copy = [UInt8](bytes)
        for i in copy.indices where injected.random.chance(injected.bitErrorRate) {
            copy[i] ^= 1 << UInt8(injected.random.next() % 8)
            countCorrupted(1)
        }
        return copy
    }

    /// Applies the injected faults to the bytes of one frame just appended to `output` from
    /// `start`: flipped bits, or the cut of a mid-frame hang.
    func impairTransmitted(_ output: inout [UInt8], from start: Int) {
        if injected.bitErrorRate > 0 {
            for i in start..<output.count where injected.random.chance(injected.bitErrorRate) {
                output[i] ^= 1 << UInt8(injected.random.next() % 8)
                countCorrupted(1)
            }
        }
        if injected.hangMidFrame && output.count > start {
            injected.hangMidFrame = false
            output.removeSubrange((start + (output.count - start) / 2)...)
            hang()
        }
    }
}
