/// How the serial link between the lock and the host misbehaves (device→host only: the faults a
/// diagnosis must tell from the lock's own).
struct LinkImpairment: Equatable {
    /// Chance per byte that one of its bits is flipped (EMI from the motor on a long cable).
    var byteFlipProbability: Double
    /// Chance after each frame of a short burst of garbage bytes (a contact bouncing).
    var burstProbability: Double
    /// Chance a response or NAK is never sent (the controller's transmit path losing frames).
    var responseDropProbability: Double

    static let clean = LinkImpairment(byteFlipProbability: 0, burstProbability: 0, responseDropProbability: 0)
}

/// Applies a `LinkImpairment` to the device's outgoing frames, from its own random stream.
struct WireFaultInjector {
    var impairment: LinkImpairment
    var random: SimulationRandom

    /// Whether the next response is lost.
    mutating func dropsResponse() -> Bool {
        impairment.responseDropProbability > 0 && random.chance(impairment.responseDropProbability)
    }

    /// Appends `frame` to `output` as the host will receive it; returns the bytes damaged.
    mutating func transmit(_ frame: [UInt8], into output: inout [UInt8]) -> Int {
        guard impairment.byteFlipProbability > 0 || impairment.burstProbability > 0 else {
            output.append(contentsOf: frame)
            return 0
        }
        var damaged = 0
        for byte in frame {
            if random.chance(impairment.byteFlipProbability) {
                output.append(byte ^ (1 << UInt8(random.next() % 8)))
                damaged += 1
            } else {
                output.append(byte)
            }
        }
        if random.chance(impairment.burstProbability) {
            let length = 2 + Int(random.next() % 15)
            for _ in 0..<length { output.append(UInt8(truncatingIfNeeded: random.next())) }
            damaged += length
        }
        return damaged
    }
}
