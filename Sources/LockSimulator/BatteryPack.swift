/// The lock's 4×AA alkaline pack: open-circuit voltage from state of charge, an internal
/// resistance that makes the terminal voltage sag under load, and charge drawn over time.
struct BatteryPack {
    /// A typical AA alkaline rating at moderate drain (~2500 mAh); the cells are in series, so
    /// the pack has the capacity of one cell.
    static let capacityCoulombs = 2.5 * 3600.0
    /// Four fresh alkaline cells in series at about 0.21 Ω each — the total effective resistance
    /// Energizer's technical bulletin "Battery Internal Resistance" (2005) works out in its
    /// dual-pulse example — what a host measuring (rest − loaded) / current on a good pack finds.
    static let healthyInternalOhms = 0.85
    /// Controller sleep current between events; a lock sized for a year on AAs must sleep below
    /// ~100 µA (2500 mAh / 8760 h ≈ 285 µA average budget, most of it for the motor and radio).
    static let quiescentAmps = 80e-6

    /// Open-circuit voltage of the pack against state of charge, piecewise linear: 1.60 V per
    /// cell fresh, a long slope through the middle, the knee below ~1.2 V, 1.0 V per cell empty
    /// (the shape of manufacturers' published alkaline AA discharge curves).
    static let openCircuitCurve: [(stateOfCharge: Double, volts: Double)] = [
        (0.00, 4.00), (0.05, 4.50), (0.10, 4.80), (0.20, 5.10), (0.50, 5.60), (0.80, 6.00), (1.00, 6.40),
    ]

    /// 0…1.
    var stateOfCharge: Double
    var internalOhms: Double

    init(stateOfCharge: Double, internalOhms: Double) {
        self.stateOfCharge = min(1, max(0, stateOfCharge))
        self.internalOhms = internalOhms
    }

    var openCircuitVolts: Double {
        let curve = Self.openCircuitCurve
        let soc = min(1, max(0, stateOfCharge))
        for i in 1..<curve.count where soc <= curve[i].stateOfCharge {
            let (s0, v0) = curve[i - 1]
            let (s1, v1) = curve[i]
            return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)
        }
        return curve[curve.count - 1].volts
    }

    /// Terminal voltage while `loadAmps` (beyond the controller's own sleep current) flows.
    func terminalVolts(loadAmps: Double) -> Double {
        max(0, openCircuitVolts - (loadAmps + Self.quiescentAmps) * internalOhms)
    }

    /// Takes `amps` (beyond the sleep current, which is always drawn) for `seconds`.
    mutating func draw(amps: Double, seconds: Double) {
        let coulombs = (amps + Self.quiescentAmps) * seconds
        stateOfCharge = max(0, stateOfCharge - coulombs / Self.capacityCoulombs)
    }

    /// Takes a charge measured by the caller (the motor's, integrated with its own steps).
    mutating func drain(coulombs: Double) {
        stateOfCharge = max(0, stateOfCharge - coulombs / Self.capacityCoulombs)
    }

    /// `battery_pct`: the controller's estimate, taken as the true state of charge.
    var percent: UInt8 { UInt8((stateOfCharge * 100).rounded()) }
}
