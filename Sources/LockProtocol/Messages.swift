// LDP/1 message bodies (ldp-v1.md §6–§7): one struct per body, each with `init(reading:)` that
// checks lengths and ranges and `write(to:)` that produces exactly the documented layout.
// Trailing bytes beyond the known fields are ignored (§4.3).

/// IDENTIFY response (§6.1).
public struct Identity: Sendable, Equatable {
    public var protocolMinor: UInt8
    public var capabilities: Capabilities
    public var traceSampleRateHz: UInt16
    public var traceCapacity: UInt16
    public var model: String
    public var hardwareRevision: String
    public var firmwareVersion: String
    public var serial: String

    public init(protocolMinor: UInt8 = LDP.protocolMinor, capabilities: Capabilities, traceSampleRateHz: UInt16,
                traceCapacity: UInt16, model: String, hardwareRevision: String, firmwareVersion: String, serial: String) {
        self.protocolMinor = protocolMinor
        self.capabilities = capabilities
        self.traceSampleRateHz = traceSampleRateHz
        self.traceCapacity = traceCapacity
        self.model = model
        self.hardwareRevision = hardwareRevision
        self.firmwareVersion = firmwareVersion
        self.serial = serial
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        protocolMinor = try r.u8()
        capabilities = Capabilities(rawValue: try r.u32())
        traceSampleRateHz = try r.u16()
        traceCapacity = try r.u16()
        model = try r.string("model", max: 32)
        hardwareRevision = try r.string("hardware_revision", max: 16)
        firmwareVersion = try r.string("firmware_version", max: 16)
        serial = try r.string("serial", max: 32)
    }

    func write(to w: inout ByteWriter) {
        w.u8(protocolMinor)
        w.u32(capabilities.rawValue)
        w.u16(traceSampleRateHz)
        w.u16(traceCapacity)
        w.string(model, max: 32)
        w.string(hardwareRevision, max: 16)
        w.string(firmwareVersion, max: 16)
        w.string(serial, max: 32)
    }
}

/// READ_STATUS response (§6.2).
public struct LockStatus: Sendable, Equatable {
    public static let size = 20
    public static let unknownTemperature: Int16 = 0x7FFF
    public static let unknownPercent: UInt8 = 0xFF

    public var bolt: BoltState
    public var door: DoorState
    public var motor: MotorState
    public var flags: StatusFlags
    public var batteryMillivolts: UInt16
    public var batteryPercent: UInt8
    public var activeFaults: UInt8
    public var temperatureDecicelsius: Int16
    public var motorCurrentMilliamps: UInt16
    public var actuations: UInt32
    public var uptimeSeconds: UInt32

    public init(bolt: BoltState, door: DoorState, motor: MotorState, flags: StatusFlags, batteryMillivolts: UInt16,
                batteryPercent: UInt8, activeFaults: UInt8, temperatureDecicelsius: Int16, motorCurrentMilliamps: UInt16,
                actuations: UInt32, uptimeSeconds: UInt32) {
        self.bolt = bolt
        self.door = door
        self.motor = motor
        self.flags = flags
        self.batteryMillivolts = batteryMillivolts
        self.batteryPercent = batteryPercent
        self.activeFaults = activeFaults
        self.temperatureDecicelsius = temperatureDecicelsius
        self.motorCurrentMilliamps = motorCurrentMilliamps
        self.actuations = actuations
        self.uptimeSeconds = uptimeSeconds
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(Self.size)
        bolt = BoltState(rawValue: try r.u8())
        door = DoorState(rawValue: try r.u8())
        motor = MotorState(rawValue: try r.u8())
        flags = StatusFlags(rawValue: try r.u8())
        batteryMillivolts = try r.u16()
        batteryPercent = try r.u8()
        activeFaults = try r.u8()
        temperatureDecicelsius = try r.i16()
        motorCurrentMilliamps = try r.u16()
        actuations = try r.u32()
        uptimeSeconds = try r.u32()
    }

    func write(to w: inout ByteWriter) {
        w.u8(bolt.rawValue)
        w.u8(door.rawValue)
        w.u8(motor.rawValue)
        w.u8(flags.rawValue)
        w.u16(batteryMillivolts)
        w.u8(batteryPercent)
        w.u8(activeFaults)
        w.i16(temperatureDecicelsius)
        w.u16(motorCurrentMilliamps)
        w.u32(actuations)
        w.u32(uptimeSeconds)
    }
}

/// READ_MOTOR_TRACE request (§6.3).
public struct TraceRequest: Sendable, Equatable {
    public static let latest: UInt16 = 0xFFFF
    public var actuation: UInt16
    public var firstIndex: UInt16
    public var maxCount: UInt8

    public init(actuation: UInt16 = TraceRequest.latest, firstIndex: UInt16, maxCount: UInt8 = UInt8(LDP.maxTraceSamplesPerFrame)) {
        self.actuation = actuation
        self.firstIndex = firstIndex
        self.maxCount = maxCount
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        actuation = try r.u16()
        firstIndex = try r.u16()
        maxCount = try r.u8()
        guard maxCount >= 1, Int(maxCount) <= LDP.maxTraceSamplesPerFrame else {
            throw .invalidField(type: MessageType.readMotorTrace.rawValue, field: "max_count", value: Int(maxCount))
        }
    }

    func write(to w: inout ByteWriter) {
        w.u16(actuation)
        w.u16(firstIndex)
        w.u8(maxCount)
    }
}

/// READ_MOTOR_TRACE response and TRACE_CHUNK event body (§6.3).
public struct TraceChunk: Sendable, Equatable {
    public var actuation: UInt16
    public var sampleRateHz: UInt16
    public var totalSamples: UInt16
    public var complete: Bool
    public var truncated: Bool
    public var firstIndex: UInt16
    /// Motor current, mA, one per sample period.
    public var samplesMilliamps: [UInt16]

    public init(actuation: UInt16, sampleRateHz: UInt16, totalSamples: UInt16, complete: Bool, truncated: Bool = false,
                firstIndex: UInt16, samplesMilliamps: [UInt16]) {
        self.actuation = actuation
        self.sampleRateHz = sampleRateHz
        self.totalSamples = totalSamples
        self.complete = complete
        self.truncated = truncated
        self.firstIndex = firstIndex
        self.samplesMilliamps = samplesMilliamps
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        actuation = try r.u16()
        sampleRateHz = try r.u16()
        totalSamples = try r.u16()
        let flags = try r.u8()
        complete = flags & 0x01 != 0
        truncated = flags & 0x02 != 0
        firstIndex = try r.u16()
        let count = Int(try r.u8())
        guard count <= LDP.maxTraceSamplesPerFrame else {
            throw .invalidField(type: r.type, field: "count", value: count)
        }
        try r.require(2 * count)
        var samples = [UInt16]()
        samples.reserveCapacity(count)
        for _ in 0..<count { samples.append(try r.u16()) }
        samplesMilliamps = samples
    }

    func write(to w: inout ByteWriter) {
        w.u16(actuation)
        w.u16(sampleRateHz)
        w.u16(totalSamples)
        w.u8((complete ? 0x01 : 0) | (truncated ? 0x02 : 0))
        w.u16(firstIndex)
        let samples = samplesMilliamps.prefix(LDP.maxTraceSamplesPerFrame)
        w.u8(UInt8(samples.count))
        for s in samples { w.u16(s) }
    }
}

/// READ_FINGERPRINT_STATUS response (§6.4).
public struct FingerprintStatus: Sendable, Equatable {
    public static let size = 12
    public static let noQuality: UInt8 = 0xFF

    public var state: FingerprintState
    public var linkOK: Bool
    /// 0–100, or `noQuality`.
    public var lastImageQuality: UInt8
    public var lastSelfTest: SelfTestOutcome
    public var templatesUsed: UInt16
    public var templatesCapacity: UInt16
    public var failedAttempts: UInt8
    public var lockoutRemainingSeconds: UInt16

    public init(state: FingerprintState, linkOK: Bool, lastImageQuality: UInt8, lastSelfTest: SelfTestOutcome,
                templatesUsed: UInt16, templatesCapacity: UInt16, failedAttempts: UInt8, lockoutRemainingSeconds: UInt16) {
        self.state = state
        self.linkOK = linkOK
        self.lastImageQuality = lastImageQuality
        self.lastSelfTest = lastSelfTest
        self.templatesUsed = templatesUsed
        self.templatesCapacity = templatesCapacity
        self.failedAttempts = failedAttempts
        self.lockoutRemainingSeconds = lockoutRemainingSeconds
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(Self.size)
        state = FingerprintState(rawValue: try r.u8())
        linkOK = try r.u8() & 0x01 != 0
        lastImageQuality = try r.u8()
        lastSelfTest = SelfTestOutcome(rawValue: try r.u8())
        templatesUsed = try r.u16()
        templatesCapacity = try r.u16()
        failedAttempts = try r.u8()
        _ = try r.u8()
        lockoutRemainingSeconds = try r.u16()
    }

    func write(to w: inout ByteWriter) {
        w.u8(state.rawValue)
        w.u8(linkOK ? 0x01 : 0)
        w.u8(lastImageQuality)
        w.u8(lastSelfTest.rawValue)
        w.u16(templatesUsed)
        w.u16(templatesCapacity)
        w.u8(failedAttempts)
        w.u8(0)
        w.u16(lockoutRemainingSeconds)
    }
}

/// A fault-memory record (§6.5), also the FAULT_RAISED event body.
public struct DeviceFault: Sendable, Equatable {
    public static let size = 20

    public var code: UInt16
    public var status: FaultStatusBits
    public var occurrences: UInt8
    public var firstSeenSeconds: UInt32
    public var lastSeenSeconds: UInt32
    public var snapshotBatteryMillivolts: UInt16
    public var snapshotMotorCurrentMilliamps: UInt16
    public var snapshotTemperatureDecicelsius: Int16
    public var snapshotBolt: BoltState

    public init(code: UInt16, status: FaultStatusBits, occurrences: UInt8, firstSeenSeconds: UInt32, lastSeenSeconds: UInt32,
                snapshotBatteryMillivolts: UInt16, snapshotMotorCurrentMilliamps: UInt16,
                snapshotTemperatureDecicelsius: Int16, snapshotBolt: BoltState) {
        self.code = code
        self.status = status
        self.occurrences = occurrences
        self.firstSeenSeconds = firstSeenSeconds
        self.lastSeenSeconds = lastSeenSeconds
        self.snapshotBatteryMillivolts = snapshotBatteryMillivolts
        self.snapshotMotorCurrentMilliamps = snapshotMotorCurrentMilliamps
        self.snapshotTemperatureDecicelsius = snapshotTemperatureDecicelsius
        self.snapshotBolt = snapshotBolt
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(Self.size)
        code = try r.u16()
        status = FaultStatusBits(rawValue: try r.u8())
        occurrences = try r.u8()
        firstSeenSeconds = try r.u32()
        lastSeenSeconds = try r.u32()
        snapshotBatteryMillivolts = try r.u16()
        snapshotMotorCurrentMilliamps = try r.u16()
        snapshotTemperatureDecicelsius = try r.i16()
        snapshotBolt = BoltState(rawValue: try r.u8())
        _ = try r.u8()
    }

    func write(to w: inout ByteWriter) {
        w.u16(code)
        w.u8(status.rawValue)
        w.u8(occurrences)
        w.u32(firstSeenSeconds)
        w.u32(lastSeenSeconds)
        w.u16(snapshotBatteryMillivolts)
        w.u16(snapshotMotorCurrentMilliamps)
        w.i16(snapshotTemperatureDecicelsius)
        w.u8(snapshotBolt.rawValue)
        w.u8(0)
    }
}

/// ACTUATION_STARTED event (§7.1).
public struct ActuationStarted: Sendable, Equatable {
    public var actuation: UInt16
    public var direction: Direction
    public var source: ActuationSource
    public var batteryMillivolts: UInt16

    public init(actuation: UInt16, direction: Direction, source: ActuationSource, batteryMillivolts: UInt16) {
        self.actuation = actuation
        self.direction = direction
        self.source = source
        self.batteryMillivolts = batteryMillivolts
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(8)
        actuation = try r.u16()
        direction = try readDirection(&r)
        source = ActuationSource(rawValue: try r.u8())
        batteryMillivolts = try r.u16()
        _ = try r.u16()
    }

    func write(to w: inout ByteWriter) {
        w.u16(actuation)
        w.u8(direction.rawValue)
        w.u8(source.rawValue)
        w.u16(batteryMillivolts)
        w.u16(0)
    }
}

/// ACTUATION_FINISHED event (§7.2).
public struct ActuationFinished: Sendable, Equatable {
    public static let size = 18

    public var actuation: UInt16
    public var direction: Direction
    public var result: ActuationResult
    public var durationMilliseconds: UInt16
    public var peakCurrentMilliamps: UInt16
    public var runningCurrentMilliamps: UInt16
    public var batteryRestMillivolts: UInt16
    public var batteryLoadedMillivolts: UInt16
    public var samples: UInt16
    public var bolt: BoltState

    public init(actuation: UInt16, direction: Direction, result: ActuationResult, durationMilliseconds: UInt16,
                peakCurrentMilliamps: UInt16, runningCurrentMilliamps: UInt16, batteryRestMillivolts: UInt16,
                batteryLoadedMillivolts: UInt16, samples: UInt16, bolt: BoltState) {
        self.actuation = actuation
        self.direction = direction
        self.result = result
        self.durationMilliseconds = durationMilliseconds
        self.peakCurrentMilliamps = peakCurrentMilliamps
        self.runningCurrentMilliamps = runningCurrentMilliamps
        self.batteryRestMillivolts = batteryRestMillivolts
        self.batteryLoadedMillivolts = batteryLoadedMillivolts
        self.samples = samples
        self.bolt = bolt
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(Self.size)
        actuation = try r.u16()
        direction = try readDirection(&r)
        result = ActuationResult(rawValue: try r.u8())
        durationMilliseconds = try r.u16()
        peakCurrentMilliamps = try r.u16()
        runningCurrentMilliamps = try r.u16()
        batteryRestMillivolts = try r.u16()
        batteryLoadedMillivolts = try r.u16()
        samples = try r.u16()
        bolt = BoltState(rawValue: try r.u8())
        _ = try r.u8()
    }

    func write(to w: inout ByteWriter) {
        w.u16(actuation)
        w.u8(direction.rawValue)
        w.u8(result.rawValue)
        w.u16(durationMilliseconds)
        w.u16(peakCurrentMilliamps)
        w.u16(runningCurrentMilliamps)
        w.u16(batteryRestMillivolts)
        w.u16(batteryLoadedMillivolts)
        w.u16(samples)
        w.u8(bolt.rawValue)
        w.u8(0)
    }
}

/// One measurement of SELFTEST_RESULT (§7.3).
public struct Measurement: Sendable, Equatable {
    public var id: MeasurementID
    public var value: Int32

    public init(_ id: MeasurementID, _ value: Int32) {
        self.id = id
        self.value = value
    }
}

/// SELFTEST_RESULT event (§7.3).
public struct SelfTestResult: Sendable, Equatable {
    public static let maxMeasurements = 32

    /// The raw test byte; `kind` is nil for a test this host does not know.
    public var test: UInt8
    public var verdict: SelfTestVerdict
    public var measurements: [Measurement]

    public init(test: SelfTestKind, verdict: SelfTestVerdict, measurements: [Measurement]) {
        self.test = test.rawValue
        self.verdict = verdict
        self.measurements = measurements
    }

    public var kind: SelfTestKind? { SelfTestKind(rawValue: test) }

    /// The first value recorded under `id`.
    public func value(_ id: MeasurementID) -> Int32? { measurements.first { $0.id == id }?.value }

    init(reading r: inout ByteReader) throws(MessageError) {
        test = try r.u8()
        verdict = SelfTestVerdict(rawValue: try r.u8())
        let count = Int(try r.u8())
        guard count <= Self.maxMeasurements else { throw .invalidField(type: r.type, field: "count", value: count) }
        try r.require(5 * count)
        var list = [Measurement]()
        list.reserveCapacity(count)
        for _ in 0..<count { list.append(Measurement(MeasurementID(rawValue: try r.u8()), try r.i32())) }
        measurements = list
    }

    func write(to w: inout ByteWriter) {
        w.u8(test)
        w.u8(verdict.rawValue)
        let list = measurements.prefix(Self.maxMeasurements)
        w.u8(UInt8(list.count))
        for m in list {
            w.u8(m.id.rawValue)
            w.i32(m.value)
        }
    }
}

/// TAMPER event (§7.4).
public struct TamperEvent: Sendable, Equatable {
    public var cause: TamperCause
    public var uptimeSeconds: UInt32

    public init(cause: TamperCause, uptimeSeconds: UInt32) {
        self.cause = cause
        self.uptimeSeconds = uptimeSeconds
    }

    init(reading r: inout ByteReader) throws(MessageError) {
        try r.require(6)
        cause = TamperCause(rawValue: try r.u8())
        _ = try r.u8()
        uptimeSeconds = try r.u32()
    }

    func write(to w: inout ByteWriter) {
        w.u8(cause.rawValue)
        w.u8(0)
        w.u32(uptimeSeconds)
    }
}

private func readDirection(_ r: inout ByteReader) throws(MessageError) -> Direction {
    let raw = try r.u8()
    guard let direction = Direction(rawValue: raw) else {
        throw .invalidField(type: r.type, field: "direction", value: Int(raw))
    }
    return direction
}
