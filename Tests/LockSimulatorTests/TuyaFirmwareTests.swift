import Foundation
import LockDiagTestSupport
import LockProtocol
@testable import LockSimulator
import Testing
import TuyaProtocol

/// The simulated lock's Tuya head, in memory: what a module (or lockdiag playing one) gets.
@Suite struct TuyaFirmwareTests {
    static func frame(_ command: UInt8, _ data: [UInt8] = []) -> [UInt8] {
        TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command, data: data)!
    }

    static func messages(_ bytes: [UInt8], _ variant: TuyaVariant) -> [TuyaMessage] {
        var out: [TuyaMessage] = []
        TuyaFrameDecoder().feed(bytes) { o in
            if case .frame(let f) = o, let m = try? TuyaMessage.parse(f.copied(), variant: variant, from: .fromMCU) { out.append(m) }
        }
        return out
    }

    @Test func standardHeadAnswersAsAMCUDoes() {
        let lock = SimulatedLock(configuration: SimulatorConfiguration(scenario: .batteryLow, seed: 4), now: 0)
        let mcu = TuyaLockFirmware(lock: lock, variant: .standard)
        var now: UInt64 = 1_000_000
        mcu.receive(Self.frame(TuyaCommand.heartbeat), now: now)
        mcu.receive(Self.frame(TuyaCommand.heartbeat), now: now)
        mcu.receive(Self.frame(TuyaCommand.productInfo), now: now)
        #expect(Self.messages(mcu.takeOutput(), .standard).prefix(3) == [
            .heartbeatReply(first: true), .heartbeatReply(first: false),
            .productInfo(TuyaProductInfo(pid: "lockdiagsimstd01", mcuVersion: "2.4.1", text: #"{"p":"lockdiagsimstd01","v":"2.4.1","m":0}"#)),
        ])
        now += 1_000_000
        mcu.receive(Self.frame(TuyaCommand.dpQuery), now: now)
        let reports = Self.messages(mcu.takeOutput(), .standard)
        guard case .dpReport(let state, _) = reports.first, case .dpReport(let alarm, _) = reports.last else {
            Issue.record("no DP reports: \(reports)")
            return
        }
        #expect(state.first { $0.id == 12 }.flatMap { $0.value.integer }.map { (9...15).contains($0) } == true)
        #expect(state.first { $0.id == 11 }?.value == .enumeration(2))
        // The low_battery alarm its fault memory held, once.
        #expect(alarm == [TuyaDataPoint(id: 8, value: .enumeration(10))])
        mcu.receive(Self.frame(TuyaCommand.dpQuery), now: now + 1)
        #expect(Self.messages(mcu.takeOutput(), .standard).count == 1)
    }

    @Test func lowPowerHeadReportsOnceConnectedAndRetriesUntilAcknowledged() {
        let lock = SimulatedLock(configuration: SimulatorConfiguration(scenario: .motorStall, seed: 4), now: 0)
        let mcu = TuyaLockFirmware(lock: lock, variant: .lowPower)
        var now: UInt64 = 1_000_000
        mcu.receive(Self.frame(TuyaLowPowerCommand.networkStatus, [TuyaNetworkStatus.connectedToCloud]), now: now)
        mcu.advance(to: now)
        var out = Self.messages(mcu.takeOutput(), .lowPower)
        #expect(out.first == .networkStatusAck)
        guard case .realtimeReport(let state) = out.last else {
            Issue.record("no real-time report: \(out)")
            return
        }
        #expect(state.contains { $0.id == 11 && $0.value == .enumeration(0) })
        // Not acknowledged: sent again after 500 ms.
        now += 600_000_000
        mcu.advance(to: now)
        #expect(Self.messages(mcu.takeOutput(), .lowPower) == [.realtimeReport(state)])
        mcu.receive(Self.frame(TuyaLowPowerCommand.realtimeReport, [0]), now: now)
        mcu.advance(to: now)
        // Next in line: the jam it stored before anyone listened, time-stamped.
        out = Self.messages(mcu.takeOutput(), .lowPower)
        guard case .recordReport(let time, let points) = out.first else {
            Issue.record("no record report: \(out)")
            return
        }
        #expect(time.valid)
        #expect(points == [TuyaDataPoint(id: 8, value: .enumeration(4))])
        mcu.receive(Self.frame(TuyaLowPowerCommand.recordReport, [0]), now: now)
        mcu.advance(to: now + 600_000_000)
        #expect(mcu.pendingReports == 0)
        #expect(mcu.takeOutput().isEmpty)
    }

    @Test func aHungLockAnswersNothing() {
        let lock = SimulatedLock(configuration: SimulatorConfiguration(seed: 4), now: 0)
        let mcu = TuyaLockFirmware(lock: lock, variant: .standard)
        lock.hang()
        mcu.receive(Self.frame(TuyaCommand.heartbeat), now: 1_000_000)
        #expect(mcu.takeOutput().isEmpty)
    }

    /// `locksim --tuya-pid`: a product lockdiagd has no layout for, whose every DP (state, alarm,
    /// unlock) is one of Tuya's standard lock DPs with the standard's type (standard-ms.json),
    /// so the daemon's fallback is what reads it.
    @Test func anotherPIDReportsOnlyStandardDPs() throws {
        let text = try Data(contentsOf: TestSupport.firmwareSpec("tuya/standard-ms.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: text) as? [String: Any])
        let dps = try #require(json["dps"] as? [[String: Any]])
        var standardTypes: [UInt8: String] = [:]
        for dp in dps { standardTypes[UInt8(try #require(dp["id"] as? Int))] = try #require(dp["type"] as? String) }

        let lock = SimulatedLock(configuration: SimulatorConfiguration(scenario: .batteryLow, seed: 4), now: 0)
        let mcu = TuyaLockFirmware(lock: lock, variant: .standard, pid: "0123abcd4567efgh")
        mcu.receive(Self.frame(TuyaCommand.productInfo), now: 1_000_000)
        mcu.receive(Self.frame(TuyaCommand.dpQuery), now: 2_000_000)
        lock.advance(to: 3_000_000)
        mcu.advance(to: 3_000_000)
        var points: [TuyaDataPoint] = []
        var pid: String?
        for message in Self.messages(mcu.takeOutput(), .standard) {
            switch message {
            case .productInfo(let info): pid = info.pid
            case .dpReport(let reported, _): points += reported
            default: break
            }
        }
        #expect(pid == "0123abcd4567efgh")
        #expect(Set(points.map(\.id)).isSuperset(of: [8, 11, 12]), "\(points)")
        for id in [TuyaLockFirmware.dpUnlockFingerprint, TuyaLockFirmware.dpUnlockPassword, TuyaLockFirmware.dpUnlockCard] {
            #expect(standardTypes[id] == "value", "unlock DP \(id)")
        }
        for point in points { #expect(standardTypes[point.id] == point.value.type.description, "DP \(point.id)") }
    }
}
