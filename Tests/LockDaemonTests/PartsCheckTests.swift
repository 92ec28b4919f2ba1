import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import LockProtocol
import Testing

/// The host side of LDP/1.1's genuine-part check (firmware-specs/ldp-v1.md §4.3, §6.9) against
/// a scripted lock on a pty and a real lockdiagd.
@Suite(.serialized) struct PartsCheckTests {
    /// §4.3: a host never sends LIST_PARTS or PROVE_PART to a lock without capability bit 8, so
    /// an LDP/1.0 lock keeps working as before; `device.parts` says why there is nothing to check.
    @Test func anLDP10LockIsNeverSentThePartRequests() throws {
        let rig = try LDPTestRig(try LDPTestLock(capabilities: [.motor, .faultMemory]), ["--poll-hz", "100"])
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        #expect(TestSupport.wait(upTo: 10) { rig.lock.requests.count >= 100 })
        #expect(rig.lock.count(.listParts) == 0 && rig.lock.count(.provePart) == 0)
        let error = try #require(rig.error(APIMethod.deviceParts, ["device": "LDP-TEST-1"]))
        #expect(error.code == RPCError.Code.deviceRefused)
        #expect(error.message.contains("has no genuine-part check"), "\(error.message)")
    }

    /// A lock that offers the check but cannot list its parts: unverified_part, with the NAK as evidence.
    @Test func aLockThatCannotListItsPartsRaisesUnverifiedPart() throws {
        let lock = try LDPTestLock(capabilities: [.motor, .genuineParts])
        lock.answerAlways(.listParts, .nak(.hardwareFailure))
        let rig = try LDPTestRig(lock)
        defer { rig.stop() }
        #expect(try rig.waitOnline())
        func faults() throws -> [Fault] { try rig.client.call(APIMethod.faultsList).decode(as: FaultsList.self).faults }
        #expect(try TestSupport.wait(upTo: 10) { try faults().contains { $0.name == "unverified_part" && $0.status == .confirmed } })
        let fault = try #require(try faults().first { $0.name == "unverified_part" })
        #expect(fault.freezeFrame?.evidence.contains("the lock did not list its parts: the lock answered NAK hardware_failure") == true,
                "\(String(describing: fault.freezeFrame?.evidence))")
        let result = try rig.client.call(APIMethod.deviceParts, params: ["device": "LDP-TEST-1"]).decode(as: PartsResult.self)
        #expect(result.parts.isEmpty && result.problem?.contains("did not list its parts") == true)
        #expect(lock.count(.provePart) == 0)
    }
}
