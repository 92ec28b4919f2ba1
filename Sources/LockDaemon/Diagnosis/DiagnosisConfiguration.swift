/// Thresholds and debounce of the diagnosis engine. Defaults suit a 4×AA, 6 V lock drive.
public struct DiagnosisConfiguration: Sendable, Equatable {
    /// Failed checks before a pending fault is confirmed (`--confirm-after`).
    public var confirmAfter = 2
    /// Clean checks before a pending or confirmed fault is healed (`--heal-after`).
    public var healAfter = 3

    public var batteryLowPercent = 20
    public var batteryCriticalPercent = 5
    /// Above this internal resistance the pack sags too far under motor load. Energizer's
    /// technical bulletin "Battery Internal Resistance" (2005) works a fresh alkaline cell's
    /// dual-pulse example out at about 0.21 Ω, so a fresh 4-cell pack with its contacts is near
    /// 0.85 Ω at room temperature; 0.3 Ω per cell is a pack that can no longer hold the motor's
    /// inrush without a brown-out.
    public var wornResistanceMilliohms = 1200
    /// Below this running current the sag is too small to estimate resistance from.
    public var minCurrentForResistanceMilliamps = 100

    /// Skip this long after energising before looking for the end-stop spike (inrush).
    public var inrushWindowMilliseconds = 60
    /// Sustained current at or above this (and at least `stallToRunningRatio` × the running
    /// current) is the motor stalled against something.
    public var stallCurrentMilliamps = 700
    public var stallToRunningRatio = 2.5
    public var stallMinimumMilliseconds = 15
    /// A spike earlier than this fraction of the lock's usual travel time is a jam, not the end stop.
    public var jamTravelFraction = 0.6
    /// Peak current below this: the motor circuit is open.
    public var openCircuitMaxMilliamps = 40
    public var overcurrentMilliamps = 2500
    /// Running current below this for a long actuation without an end stop: the motor runs
    /// unloaded, the clutch is not transmitting.
    public var clutchNoLoadMaxMilliamps = 140
    public var clutchMinimumMilliseconds = 1500

    /// Frames failing their check value, as a share of all frames, above which the link is bad.
    public var checkErrorRatio = 0.02
    public var checkErrorMinimum: UInt64 = 3
    /// Timeouts within the window, and their share of the requests, above which the lock is not
    /// answering reliably. The share keeps a few late answers on a loaded host (a busy laptop,
    /// a rack of 64 locks on two cores) from reading as a lock fault.
    public var timeoutMinimum: UInt64 = 3
    public var timeoutRatio = 0.10
    public var linkWindowSeconds = 5
    /// A lock that has not answered for this long is shown unresponsive.
    public var silenceSeconds = 2.0

    /// Fingerprint image quality below this is degraded.
    public var imageQualityMinimum = 40

    /// A door-closed lock throw's end-of-travel ratio may exceed the lock's free-running one
    /// (learnt from door-open lock throws) by this factor before the strike counts as
    /// misaligned: the commissioning default (firmware-specs/commissioning.json), where a
    /// healthy lock stays within a few per cent and a bolt rubbing its keep adds tens.
    public var strikeRiseMaximum = 1.2

    public init() {}
}
