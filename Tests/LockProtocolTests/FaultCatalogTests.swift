import Foundation
import LockDiagTestSupport
import LockProtocol
import Testing

/// The compiled catalog is generated from firmware-specs/faults.json; this fails when they differ
/// (run `make catalog`).
@Suite struct FaultCatalogTests {
    @Test func compiledCatalogMatchesTheSpec() throws {
        let data = try Data(contentsOf: TestSupport.firmwareSpec("faults.json"))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let entries = try #require(root["faults"] as? [[String: Any]])
        #expect(entries.count == FaultCatalog.all.count, "run `make catalog`")
        for entry in entries {
            let codeText = try #require(entry["code"] as? String)
            let code = try #require(UInt16(codeText.dropFirst(2), radix: 16))
            let def = try #require(FaultCatalog.definition(for: code), "\(codeText) missing: run `make catalog`")
            #expect(def.name == entry["name"] as? String)
            #expect(def.title == entry["title"] as? String)
            #expect(def.category.rawValue == entry["category"] as? String)
            #expect(def.severity.rawValue == entry["severity"] as? String)
            #expect(def.source.rawValue == entry["source"] as? String)
            #expect(def.meaning == entry["meaning"] as? String)
            #expect(def.causes == entry["causes"] as? [String])
            #expect(def.action == entry["action"] as? String)
        }
    }

    @Test func codesSitInTheirCategoryRange() {
        let ranges: [FaultCategory: UInt16] = [.motor: 1, .battery: 2, .fingerprint: 3, .communication: 4, .mechanical: 5, .power: 6, .security: 7]
        for def in FaultCatalog.all {
            #expect(def.code >> 8 == ranges[def.category], "\(def.codeText) \(def.name) is not in the \(def.category) range")
            #expect(!def.action.isEmpty && !def.meaning.isEmpty && !def.causes.isEmpty)
        }
        #expect(Set(FaultCatalog.all.map(\.code)).count == FaultCatalog.all.count)
        #expect(Set(FaultCatalog.all.map(\.name)).count == FaultCatalog.all.count)
    }

    /// The faults issue 2 names as the ones technicians meet most.
    @Test func catalogCoversTheFieldFaults() {
        let required = ["motor_stall", "motor_open_circuit", "motor_overcurrent", "actuation_timeout", "clutch_failure",
                        "not_calibrated", "battery_low", "battery_critical", "battery_worn", "fingerprint_not_responding",
                        "fingerprint_image_degraded", "template_storage_error", "lockout_failed_attempts", "comm_crc_errors",
                        "response_timeout", "tamper", "door_sensor_inconsistent", "low_motor_voltage"]
        for name in required { #expect(FaultCatalog.definition(named: name) != nil, "\(name) missing") }
    }

    @Test func unknownCodesResolveToAStandIn() {
        let def = FaultCatalog.resolve(0x01EE)
        #expect(def.category == .motor)
        #expect(def.name == "unknown_01EE")
        #expect(FaultCatalog.format(0x0101) == "0x0101")
    }
}
