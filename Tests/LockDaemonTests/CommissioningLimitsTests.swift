import Foundation
import LockDaemon
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// firmware-specs/commissioning.json: compiled in as shipped, and a bad file refused with an
/// error that says where and what to fix.
@Suite struct CommissioningLimitsTests {
    @Test func theCompiledInLimitsAreTheSpecFile() throws {
        let file = try String(contentsOf: TestSupport.firmwareSpec("commissioning.json"), encoding: .utf8)
        #expect(file == CommissioningLimits.builtInJSON, "run `make commissioning-limits`")
        let limits = CommissioningLimits.builtIn()
        #expect(limits.limits(for: "LX-300").name == "LX-300")
        #expect(limits.limits(for: "QX-9").name == "default")
        #expect(limits.limits(for: nil).name == "default")
        #expect(limits.models.values.allSatisfy { $0.presentations >= 1 && $0.throwCycles >= 1 })
    }

    static func parse(_ text: String) throws(CommissioningLimitsError) -> CommissioningLimits {
        try CommissioningLimits.parse(Array(text.utf8), path: "limits.json")
    }

    static let good = """
        {"max_end_of_travel_rise": 1.2, "max_throw_ms": 1200, "min_battery_loaded_mv": 4800, "min_image_quality": 50,
         "presentations": 3, "throw_cycles": 2, "max_clock_drift_percent": 5}
        """

    @Test(arguments: [
        ("{", "not valid JSON"),
        (#"{"models": {}}"#, "\"format\" is missing"),
        (#"{"format": "lockdiag-commissioning-limits/9", "models": {}}"#, "expected \"lockdiag-commissioning-limits/1\""),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"LX-300": \#(good)}}"#, "no \"models\".\"default\" entry"),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": {"max_throw_ms": 1200}}}"#, "model \"default\" has no \"max_end_of_travel_rise\""),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": \#(good.replacingOccurrences(of: "1200", with: "\"fast\""))}}"#,
         "\"max_throw_ms\" is \"fast\", must be a number in 100…3000"),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": \#(good.replacingOccurrences(of: "1.2,", with: "120,"))}}"#,
         "\"max_end_of_travel_rise\" is 120, must be a number in 1…5"),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": \#(good.replacingOccurrences(of: "\"presentations\": 3", with: "\"presentations\": 2.5"))}}"#,
         "\"presentations\" is 2.5, must be a whole number in 1…10"),
        (#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": \#(good.replacingOccurrences(of: "}", with: ", \"max_trow_ms\": 3}"))}}"#,
         "unknown field \"max_trow_ms\""),
    ])
    func aBadFileSaysWhatToFix(text: String, expected: String) {
        #expect {
            _ = try Self.parse(text)
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix("commissioning limits limits.json: ") && description.contains(expected)
        }
    }

    @Test func aGoodFileWithAModelParses() throws {
        let limits = try Self.parse(#"{"format": "lockdiag-commissioning-limits/1", "models": {"default": \#(Self.good), "LX-9": \#(Self.good)}}"#)
        #expect(limits.limits(for: "LX-9").limits.maxThrowMilliseconds == 1200)
        #expect(limits.limits(for: "LX-9").limits.maxEndOfTravelRise == 1.2)
    }

    @Test func anUnreadableFileSaysSo() {
        #expect {
            _ = try CommissioningLimits.load(path: "/nonexistent/limits.json")
        } throws: { error in "\(error)".contains("cannot read it") && "\(error)".contains("--commissioning-limits") }
    }
}

/// docs/socket-api.md: the commissioning methods are a technician's, like device.actuate.
@Suite struct CommissioningRoleTests {
    @Test func onlyATechnicianMayCommission() {
        let policy = AccessPolicy(readerGroup: RoleGroup(name: "lockdiag", gid: 4711), technicianGroup: RoleGroup(name: "lockdiag-admin", gid: 4712))
        for method in [APIMethod.commissionStart, APIMethod.commissionStep, APIMethod.commissionFinish] {
            #expect(policy.requiredRole(for: method) == .technician, "\(method)")
        }
    }
}
