import LockProtocol

/// What the controller saw when a fault was raised (§6.5 freeze frame).
struct FreezeFrame {
    var batteryMillivolts: UInt16
    var motorCurrentMilliamps: UInt16
    var temperatureDecicelsius: Int16
    var bolt: BoltState
}

/// The controller's fault memory (§6.5), with the UDS-style status bits: PENDING on a first
/// failure, CONFIRMED from the second occurrence on (this firmware's debounce), TEST_FAILED
/// while the condition is present, cleared by the next passing check.
struct FaultMemory {
    static let capacity = LDP.maxFaultRecords
    /// §4.2: at most one FAULT_RAISED per code per second.
    static let raiseIntervalNanoseconds: UInt64 = 1_000_000_000

    private(set) var records: [DeviceFault] = []
    private var lastRaised: [UInt16: UInt64] = [:]

    /// Records with TEST_FAILED set (`active_faults` of READ_STATUS).
    var activeCount: UInt8 { UInt8(min(255, records.filter { $0.status.contains(.testFailed) }.count)) }

    func record(_ code: UInt16) -> DeviceFault? { records.first { $0.code == code } }

    /// One more occurrence of an event-like fault (a stalled run, a tamper). Returns the record
    /// to announce with FAULT_RAISED, or nil when the §4.2 rate limit holds it back.
    mutating func occurred(_ code: UInt16, uptimeSeconds: UInt32, freeze: FreezeFrame, now: UInt64) -> DeviceFault? {
        let updated: DeviceFault
        if let i = records.firstIndex(where: { $0.code == code }) {
            var r = records[i]
            r.occurrences = r.occurrences == .max ? .max : r.occurrences + 1
            r.status.formUnion([.testFailed, .pending, .confirmed, .failedSinceClear])
            r.lastSeenSeconds = uptimeSeconds
            apply(freeze, to: &r)
            records[i] = r
            updated = r
        } else {
            var r = DeviceFault(code: code, status: [.testFailed, .pending, .failedSinceClear], occurrences: 1,
                                firstSeenSeconds: uptimeSeconds, lastSeenSeconds: uptimeSeconds, snapshotBatteryMillivolts: 0,
                                snapshotMotorCurrentMilliamps: 0, snapshotTemperatureDecicelsius: 0, snapshotBolt: .unknown)
            apply(freeze, to: &r)
            makeRoom()
            records.append(r)
            updated = r
        }
        if let last = lastRaised[code], now < last + Self.raiseIntervalNanoseconds { return nil }
        lastRaised[code] = now
        return updated
    }

    /// The result of a periodic check of a lasting condition (battery level, sensor link):
    /// only a change from passing to failing is an occurrence.
    mutating func check(_ code: UInt16, failing: Bool, uptimeSeconds: UInt32, freeze: @autoclosure () -> FreezeFrame,
                        now: UInt64) -> DeviceFault? {
        if failing {
            if let r = record(code), r.status.contains(.testFailed) { return nil }
            return occurred(code, uptimeSeconds: uptimeSeconds, freeze: freeze(), now: now)
        }
        passed(code)
        return nil
    }

    /// Forgets when events were last sent (after the start-up replay, whose events nobody saw).
    mutating func resetRateLimit() { lastRaised.removeAll() }

    /// The condition behind `code` is gone: TEST_FAILED clears, the record stays until cleared.
    mutating func passed(_ code: UInt16) {
        if let i = records.firstIndex(where: { $0.code == code }) { records[i].status.remove(.testFailed) }
    }

    /// CLEAR_FAULTS: removes the record for `code`, or every record for `0xFFFF`.
    mutating func clear(_ code: UInt16) -> Int {
        let before = records.count
        if code == Request.clearAllFaults { records.removeAll() } else { records.removeAll { $0.code == code } }
        return before - records.count
    }

    /// Installs a record from before the simulator started, merged with what the start-up
    /// checks already found (which know whether the condition is present now).
    mutating func install(_ history: FaultHistory, uptimeSeconds: UInt32, freeze: FreezeFrame) {
        let firstSeen = uptimeSeconds > history.firstSeenAgoSeconds ? uptimeSeconds - history.firstSeenAgoSeconds : 0
        var status: FaultStatusBits = [.pending, .failedSinceClear]
        if history.occurrences >= 2 { status.insert(.confirmed) }
        if let i = records.firstIndex(where: { $0.code == history.code }) {
            records[i].status.formUnion(status)
            records[i].occurrences = max(records[i].occurrences, history.occurrences)
            records[i].firstSeenSeconds = min(records[i].firstSeenSeconds, firstSeen)
        } else {
            var r = DeviceFault(code: history.code, status: status, occurrences: history.occurrences, firstSeenSeconds: firstSeen,
                                lastSeenSeconds: firstSeen + history.firstSeenAgoSeconds / 2, snapshotBatteryMillivolts: 0,
                                snapshotMotorCurrentMilliamps: 0, snapshotTemperatureDecicelsius: 0, snapshotBolt: .unknown)
            apply(freeze, to: &r)
            makeRoom()
            records.append(r)
        }
    }

    private func apply(_ freeze: FreezeFrame, to r: inout DeviceFault) {
        r.snapshotBatteryMillivolts = freeze.batteryMillivolts
        r.snapshotMotorCurrentMilliamps = freeze.motorCurrentMilliamps
        r.snapshotTemperatureDecicelsius = freeze.temperatureDecicelsius
        r.snapshotBolt = freeze.bolt
    }

    /// A full memory forgets the record seen longest ago, preferring one not failing now.
    private mutating func makeRoom() {
        guard records.count >= Self.capacity else { return }
        let candidates = records.indices.filter { !records[$0].status.contains(.testFailed) }
        let pool = candidates.isEmpty ? Array(records.indices) : candidates
        if let oldest = pool.min(by: { records[$0].lastSeenSeconds < records[$1].lastSeenSeconds }) {
            records.remove(at: oldest)
        }
    }
}
