#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LockProtocol

/// What is wrong with the motor, gearbox or bolt.
enum DriveTrainFault: Equatable {
    case none
    /// The bolt meets an obstruction part-way out (a misaligned strike plate): locking stalls.
    case jamWhenLocking
    /// The motor circuit is broken: no current flows however the driver is switched.
    case openCircuit
    /// The clutch does not transmit torque: the motor spins free and the bolt stays put.
    case clutchSlip
    /// The strike plate (keep) is off the bolt's line: with the door closed the bolt rubs on
    /// the keep over the last `strikeRubFraction` of its travel, and sometimes meets its edge
    /// and throws short. With the door open the bolt runs free.
    case strikeMisaligned
}

/// A small brushed DC motor driving the bolt through a reduction gearbox and a clutch.
///
/// Electrical: i = (V − k·ω) / (R_motor + R_source), inductance neglected (its L/R of a fraction
/// of a millisecond is below the 1 kHz trace). Mechanical, at the motor shaft:
/// J·dω/dt = k·i − friction − bolt load − end-stop reaction. Integrated with semi-implicit Euler
/// in 0.1 ms steps, well inside the stability limit of the stiffest term (the end stop,
/// ω_n·dt ≈ 0.03).
///
/// The constants are chosen so that on a fresh 6 V pack the numbers a lock engineer expects
/// come out of the equations rather than being written in: inrush ≈ V / (R_m + R_int) ≈ 1.5 A
/// decaying with the mechanical time constant J·R/k² ≈ 10 ms (gone in 20–40 ms), running current
/// ≈ 250 mA, a full stroke in ≈ 0.75 s, stall current ≈ 1.5 A.
struct DriveTrain {
    /// Winding plus H-bridge on-resistance of a 6 V micro gear motor.
    static let windingOhms = 3.5
    /// Back-EMF / torque constant: ~10 000 rpm no-load at 6 V, typical of the N20/FF-030 class.
    static let nominalTorqueConstant = 0.0055
    /// Rotor plus gearbox inertia reflected to the motor shaft; sets τ_m = J·R/k² ≈ 10 ms.
    static let inertia = 7.9e-8
    /// Gearbox friction as the current that overcomes it: the no-load current (80–100 mA) a
    /// motor with a slipping clutch shows.
    static let frictionAmps = 0.090
    /// Extra current the bolt and latch spring take when locking (running ≈ 250 mA in total).
    static let nominalBoltLoadAmps = 0.160
    /// Retracting is helped by the latch spring, so it takes less.
    static let unlockLoadFactor = 0.85
    /// Motor radians for a full bolt stroke (≈110 turns: a ~20 mm bolt behind a worm/spur train).
    static let radiansPerStroke = 700.0
    /// End-stop (and jam) stiffness at the motor shaft: stall torque at ≈1 rad of gear-train
    /// windup, so the motor stops within a few milliseconds of contact.
    static let stopStiffness = 0.0087
    /// Contact damping bringing the stop's response to ζ ≈ 0.7: the spike settles instead of
    /// ringing, as a plastic gear train does.
    static let stopDamping = 2.9e-5
    /// Commutator ripple: a 3-slot rotor commutates 6 times per turn, ±4 % of the current.
    static let rippleFraction = 0.04
    static let commutationsPerTurn = 6.0
    /// Integration steps per 1 ms trace sample.
    static let substepsPerSample = 10
    /// The part of the stroke nearest the extended end over which a misaligned keep rubs: the
    /// bolt enters the keep over its last ~4 mm of a ~20 mm throw.
    static let strikeRubFraction = 0.20
    /// Extra load of that rub at full extension, as current: rising from 0 where the bolt meets
    /// the keep to this at the end stop (running current ≈ 250 → ≈ 450 mA), well below the
    /// firmware's 1 A stall threshold, so the throw still completes.
    static let strikeRubAmps = 0.20
    /// Where a short throw stops (the bolt meets the keep's edge), 0…1 of the stroke.
    static let shortThrowRange = 0.84...0.90

    var fault: DriveTrainFault
    /// Where a jammed bolt stops when locking, 0…1 of the stroke.
    var jamPosition: Double
    /// Per-unit spread of the motor constant and the bolt friction (seeded per lock).
    let torqueConstant: Double
    let boltLoadAmps: Double

    /// 0 fully retracted (unlocked) … 1 fully extended (locked); slightly beyond a stop while
    /// the gear train winds up against it.
    private(set) var boltPosition: Double
    /// Motor shaft speed, rad/s, positive towards locked.
    private(set) var omega = 0.0
    /// Motor shaft angle, rad, for the commutator ripple.
    private(set) var motorAngle = 0.0
    /// The stop the current stroke runs into, in bolt position.
    private var stopPosition = 1.0
    /// Whether the current stroke rubs on a misaligned keep (door closed).
    private var rubsOnKeep = false

    init(fault: DriveTrainFault, jamPosition: Double, torqueConstant: Double, boltLoadAmps: Double, boltPosition: Double) {
        self.fault = fault
        self.jamPosition = jamPosition
        self.torqueConstant = torqueConstant
        self.boltLoadAmps = boltLoadAmps
        self.boltPosition = boltPosition
    }

    /// Prepares a stroke in `direction`: which stop the bolt will meet. `doorClosed`: the bolt
    /// goes into the keep; `shortThrowAt`: where it meets a misaligned keep's edge, if it does.
    mutating func engage(_ direction: Direction, doorClosed: Bool = true, shortThrowAt: Double? = nil) {
        rubsOnKeep = fault == .strikeMisaligned && doorClosed
        switch direction {
        case .lock:
            // The obstruction is only in the way of a bolt coming out from behind it.
            if fault == .jamWhenLocking && boltPosition < jamPosition + 0.005 {
                stopPosition = jamPosition
            } else if rubsOnKeep, let edge = shortThrowAt, boltPosition < edge {
                stopPosition = edge
            } else {
                stopPosition = 1.0
            }
        case .unlock:
            stopPosition = 0.0
        }
    }

    private var coupled: Bool { fault != .clutchSlip }

    /// Current the motor draws now from a source of `volts` and `sourceOhms` when driven in
    /// `direction` (always ≥ 0: the driver reverses the polarity, the shunt sees magnitude).
    func current(direction: Direction, volts: Double, sourceOhms: Double) -> Double {
        guard fault != .openCircuit else { return 0 }
        let s = direction == .lock ? 1.0 : -1.0
        let speedTowardsTarget = s * omega
        return (volts - torqueConstant * speedTowardsTarget) / (Self.windingOhms + sourceOhms)
    }

    /// The current as the controller's shunt amplifier sees it: with commutator ripple.
    func rippledCurrent(direction: Direction, volts: Double, sourceOhms: Double) -> Double {
        let i = current(direction: direction, volts: volts, sourceOhms: sourceOhms)
        let ripple = 1 + Self.rippleFraction * sin(Self.commutationsPerTurn * motorAngle)
        return i * ripple
    }

    /// Advances one trace sample period (1 ms) with the motor driven in `direction`; returns the
    /// charge drawn from the source, in coulombs.
    mutating func drive(_ direction: Direction, volts: Double, sourceOhms: Double) -> Double {
        let dt = 1.0 / Double(ActuationRun.sampleRateHz) / Double(Self.substepsPerSample)
        var coulombs = 0.0
        for _ in 0..<Self.substepsPerSample {
            let i = max(0, current(direction: direction, volts: volts, sourceOhms: sourceOhms))
            coulombs += i * dt
            integrate(direction: direction, motorTorque: torqueConstant * i, dt: dt)
        }
        return coulombs
    }

    /// Advances one sample period with the winding shorted (dynamic braking): the back-EMF
    /// drives a current that brakes the rotor; nothing is drawn from the battery.
    mutating func brake(_ direction: Direction) {
        let dt = 1.0 / Double(ActuationRun.sampleRateHz) / Double(Self.substepsPerSample)
        let s = direction == .lock ? 1.0 : -1.0
        for _ in 0..<Self.substepsPerSample {
            let i = fault == .openCircuit ? 0 : -torqueConstant * s * omega / Self.windingOhms
            integrate(direction: direction, motorTorque: torqueConstant * i, dt: dt)
        }
    }

    /// The gear train unwinds after the motor stops: the bolt rests against the stop it met.
    mutating func settle() {
        omega = 0
        boltPosition = min(1, max(0, boltPosition))
        // A bolt stopped short of its end (a jam, a keep's edge) rests against what stopped it.
        if stopPosition > 0, stopPosition < 1 { boltPosition = min(boltPosition, stopPosition) }
    }

    /// One Euler step in the frame of the stroke (positive = towards `direction`'s end).
    private mutating func integrate(direction: Direction, motorTorque: Double, dt: Double) {
        let s = direction == .lock ? 1.0 : -1.0
        var speed = s * omega
        var torque = motorTorque
        var load = Self.frictionAmps * torqueConstant
        if coupled {
            // Penetration into the stop, in motor radians (gear-train windup).
            let windup = (s * boltPosition - s * stopPosition) * Self.radiansPerStroke
            if windup > 0 {
                torque -= Self.stopStiffness * windup + Self.stopDamping * speed
            } else {
                load += boltLoad(direction) * torqueConstant
            }
        }
        // Coulomb friction opposes motion, and holds the shaft still while it can.
        if speed > 1e-6 {
            torque -= load
        } else if speed < -1e-6 {
            torque += load
        } else if abs(torque) <= load {
            torque = 0
            speed = 0
        } else {
            torque -= torque > 0 ? load : -load
        }
        speed += torque / Self.inertia * dt
        omega = s * speed
        motorAngle += speed * dt
        if motorAngle > 1e6 { motorAngle -= 2 * Double.pi * 100_000 }
        if coupled { boltPosition += s * speed * dt / Self.radiansPerStroke }
    }

    /// The latch spring compresses as the bolt comes out, so locking gets harder towards the end.
    /// A misaligned keep adds friction where the bolt is in it, growing the deeper it goes.
    private func boltLoad(_ direction: Direction) -> Double {
        let spring = switch direction {
        case .lock: boltLoadAmps * (0.9 + 0.2 * boltPosition)
        case .unlock: boltLoadAmps * Self.unlockLoadFactor * (0.9 + 0.2 * (1 - boltPosition))
        }
        guard rubsOnKeep else { return spring }
        let depth = (boltPosition - (1 - Self.strikeRubFraction)) / Self.strikeRubFraction
        return spring + Self.strikeRubAmps * min(1, max(0, depth))
    }
}
