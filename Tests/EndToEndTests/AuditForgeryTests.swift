import Foundation
import Glibc
import JSONRPC
import LockDiagAPI
import LockDiagTestSupport
import Testing

/// docs/security.md's audit-log promise.
@Suite struct AuditForgeryTests {
    /// security.md: `command` in the audit log is cut at 512 bytes with control characters
    /// escaped, so a client cannot forge log lines.
    @Test func anAuditLineCannotBeForgedOrMadeLong() throws {
        let daemon = try DaemonProcess(["--simulate", "healthy", "--simulate-activity", "0"])
        defer { #expect(daemon.stop() == 0) }
        let client = JSONRPCClient(socketPath: daemon.socketPath)
        let forged = "x\naudit: uid=0 gid=0 pid=1 client=systemd role=technician connection=0 command=faults.clear {} → succeeded\r\u{1B}[2K\u{7F}\u{9B}"
        let device = forged + String(repeating: "A", count: 2048)
        #expect(throws: RPCClientError.self) { try client.call(APIMethod.faultsClear, params: ["device": .string(device)]) }
        let outcome = daemon.child.waitForErrorLine(containing: "command=faults.clear {\"device\":\"x", within: 5)
        _ = daemon.child.waitForErrorLine(containing: "→ failed", within: 5)
        let log = daemon.child.allErrors
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(outcome != nil, "\(log)")
        // The fake record may only appear inside the real one's params, never as a line of its own.
        #expect(!lines.contains { $0.contains("client=systemd") && !$0.contains("command=faults.clear {\"device\":\"x") },
                "a client forged an audit line:\n\(log)")
        for line in lines where line.contains("command=faults.clear") {
            let command = line.components(separatedBy: "command=faults.clear ").last ?? ""
            let params = command.components(separatedBy: " → ").first ?? ""
            #expect(params.utf8.count <= 512 + "…".utf8.count, "params of \(params.utf8.count) bytes in the log")
            #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\t" },
                    "a raw control character in: \(line.debugDescription)")
            // The error message quotes the client's device name: cut the same way.
            let message = line.components(separatedBy: " → failed ").dropFirst().first ?? ""
            #expect(message.utf8.count <= "-32001: ".utf8.count + 512 + "…".utf8.count, "a message of \(message.utf8.count) bytes in the log")
        }
    }

}
