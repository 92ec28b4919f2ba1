import BLEProtocol
import BLETransport
import Foundation
import LinuxIO
import LockDiagTestSupport
import LockSimulator
import Testing

/// firmware-specs/ble-gatt.md §8 is replayed against the simulator, PDU for PDU: the spec's
/// example session is what the code does.
@Suite struct BLEGATTSpecTests {
    struct Step {
        let outgoing: Bool
        let bytes: [UInt8]
        let line: String
    }

    /// The session block: lines starting → or ←, hex bytes up to the first double space.
    static func session() throws -> [Step] {
        let text = try String(contentsOf: TestSupport.firmwareSpec("ble-gatt.md"), encoding: .utf8)
        let marker = try #require(text.range(of: "<!-- session:"))
        let block = text[marker.upperBound...].components(separatedBy: "```")[1]
        return block.split(separator: "\n").compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard let arrow = trimmed.first, arrow == "→" || arrow == "←" else { return nil }
            let body = trimmed.dropFirst().trimmingCharacters(in: .whitespaces)
            let hex = body.components(separatedBy: "  ")[0].replacingOccurrences(of: " ", with: "")
            return Step(outgoing: arrow == "→", bytes: [UInt8](hex: hex), line: String(line))
        }
    }

    @Test func theExampleSessionIsWhatTheSimulatorDoes() throws {
        let steps = try Self.session()
        #expect(steps.count == 24)
        let directory = try TemporaryDirectory(prefix: "spec")
        defer { directory.remove() }
        let path = directory.path + "/lock.att"
        // The lock of vectors/frames.json's identify-response.
        let simulator = try SimulatorServer(configurations: [SimulatorConfiguration(
            serial: "LX3-000123", hardwareRevision: "C", ble: BLEServing(socketPath: path, receiveMTU: 23))])
        try simulator.start()
        defer { simulator.stop() }
        let bearer = ATTSocket(fd: try SeqPacket.connect(path))
        defer { FileIO.close(bearer.fd) }
        for step in steps {
            if step.outgoing {
                try bearer.send(step.bytes)
            } else {
                let got = try bearer.receive(deadlineNanoseconds: MonotonicClock.nanoseconds() + 5_000_000_000)
                #expect(got == step.bytes, "\(step.line)\n  got: \(got?.hexString ?? "nothing")")
                // Every PDU in the spec is a well-formed one.
                #expect(throws: Never.self) { try ATTPDU(bytes: step.bytes) }
            }
        }
        // The notifications reassemble into the golden identify-response frame.
        let golden = try String(contentsOf: TestSupport.firmwareSpec("vectors/frames.json"), encoding: .utf8)
        let stream = steps.filter { !$0.outgoing && $0.bytes.first == 0x1b }.flatMap { $0.bytes.dropFirst(3) }
        #expect(golden.contains("\"hex\": \"\([UInt8](stream).hexString)\""))
    }
}
