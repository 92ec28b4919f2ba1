import ArgumentParser
import BLEProtocol
import BLETransport
import JSONRPC
import LockDiagAPI
import LockDiagCLI
import OptionRanges

extension LockDiag {
    struct Scan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Scan for Bluetooth LE devices nearby and mark the likely locks (no daemon needed).",
            usage: "lockdiag scan [--seconds <n>] [--adapter <hciN>] [--passive] [--json]",
            discussion: """
                Listens for LE advertisements through the adapter's raw HCI socket (active scanning, \
                so scan responses with names come in too) and lists each device once: address (with \
                /random for a random address, as lockdiagd --ble takes it), signal strength, name, \
                advertised services. A device is a likely lock when it advertises the LDP service \
                (full diagnosis), a known lock maker's service (Nuki, August/Yale) or the Battery \
                Service. Needs CAP_NET_RAW and CAP_NET_ADMIN (root, or setcap on lockdiag). Ctrl-C \
                ends the scan early and still prints what was heard.
                """)

        @Option(help: ArgumentHelp(Self.secondsRange.help("How long to listen"), valueName: "seconds"))
        var seconds = 10.0

        @Option(help: ArgumentHelp("The adapter (default: the first one up).", valueName: "hciN"))
        var adapter: String?

        @Flag(help: "Only listen (no scan requests): fewer names, and nothing is sent.")
        var passive = false

        @Flag(help: "Print the result as JSON (pretty-printed, keys sorted).")
        var json = false

        static let secondsRange = OptionRange<Double>("--seconds", 0.1...600, unit: "seconds")

        func validate() throws {
            try Self.secondsRange.check(seconds)
        }

        func run() throws {
            try perform { () throws(CLIError) in
                let scanner: HCIScanner
                do throws(BLEError) { scanner = try HCIScanner(adapter: adapter) } catch { throw CLIError(status: .failure, message: error.description) }
                StopSignals.install()
                if !json { Output.err("scanning for \(Int(seconds)) s on \(scanner.adapterName)… (Ctrl-C stops early)") }
                let table: ScanTable
                do throws(BLEError) {
                    table = try scanner.scan(seconds: seconds, active: !passive, stop: { StopSignals.received })
                } catch {
                    throw CLIError(status: .failure, message: error.description)
                }
                let report = ScanReport(adapter: scanner.adapterName, adapterAddress: scanner.adapterAddress, seconds: seconds,
                                        reports: table.reports, devices: table.sorted.map(ScanConversion.device))
                if json {
                    do { printJSON(try JSONValue(encoding: report)) } catch {
                        throw CLIError(status: .failure, message: "cannot encode the scan: \(error)")
                    }
                } else {
                    Output.out(ScanRenderer.render(report, style: Terminal.style(json: false)))
                }
                return .ok
            }
        }
    }
}

/// From what the scan heard to the `lockdiag scan --json` shape.
enum ScanConversion {
    static func device(_ d: ScannedDevice) -> ScannedBLEDevice {
        let data = d.data
        let assessment = d.assessment
        return ScannedBLEDevice(
            address: d.address.description, addressType: d.address.type.rawValue, name: DisplayText.safe(data.localName), rssiDBm: d.rssiDBm,
            strongestRSSIDBm: d.strongestRSSIDBm, txPowerDBm: d.advertisedTXPowerDBm, connectable: d.connectable,
            services: data.serviceUUIDs.map(\.description),
            manufacturerData: data.manufacturerData.map { .init(companyID: Int($0.companyID), dataHex: hex($0.data)) },
            serviceData: data.serviceData.map { .init(uuid: $0.uuid.description, dataHex: hex($0.data)) },
            flags: data.flags?.names ?? [], appearance: data.appearance.map(Int.init), lockEvidence: assessment.evidence?.rawValue,
            lockReason: assessment.reason, reports: d.reports, problem: d.problem?.description)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
    }
}
