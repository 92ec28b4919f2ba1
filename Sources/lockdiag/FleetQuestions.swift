import ArgumentParser
import FleetSync
import Foundation
import LockDiagAPI
import LockDiagCLI

extension LockDiag.Fleet {
    struct Faults: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fault counts across the fleet, by fault, model and firmware (fleet_analyst).",
            usage: "lockdiag fleet faults [--model M] [--firmware F] [--since 30d] [--json]",
            discussion: """
                occurrences counts raised and reoccurred events, confirmed the confirmations, locks and stations \
                the distinct ones. Model and firmware are the lock's when the event happened.
                """)

        @Option(name: .customLong("fleet"), help: ArgumentHelp("The fleet database (default $LOCKDIAG_FLEET).", valueName: "url"))
        var url: String?

        @Option(help: ArgumentHelp("Only this lock model, e.g. LX-300.", valueName: "model"))
        var model: String?

        @Option(help: ArgumentHelp("Only this firmware version, e.g. 2.4.1.", valueName: "version"))
        var firmware: String?

        @Option(help: ArgumentHelp("How far back: 30d, 12h, 90m (default 30d).", valueName: "age"))
        var since = "30d"

        @Flag(help: "Print JSON (an array of rows) instead of a table.")
        var json = false

        func validate() throws {
            if FleetAge.seconds(since) == nil { throw ValidationError("--since \(since): give a number and d, h or m, like 30d") }
        }

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(url)
                let from = Date().addingTimeInterval(-(FleetAge.seconds(since) ?? 0))
                let (model, firmware) = (model, firmware)
                let rows = try withFleet(url) { db throws(FleetError) in
                    try await db.faultCounts(model: model, firmware: firmware, since: from)
                }
                if json {
                    Output.out(FleetJSON.text(rows))
                    return .ok
                }
                if rows.isEmpty {
                    Output.out("no fault events since \(ISO8601DateFormatter().string(from: from))")
                    return .ok
                }
                let table = [["FAULT", "NAME", "MODEL", "FIRMWARE", "OCCURRENCES", "CONFIRMED", "LOCKS", "STATIONS"]] + rows.map {
                    [$0.code, $0.name, $0.model.isEmpty ? "?" : $0.model, $0.firmware.isEmpty ? "?" : $0.firmware,
                     "\($0.occurrences)", "\($0.confirmed)", "\($0.locks)", "\($0.stations)"]
                }
                Output.out(FleetJSON.columns(table.map { $0.map { DisplayText.safe($0) } }))
                return .ok
            }
        }
    }

    struct Lock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One lock's life across stations, in time order (fleet_analyst).",
            discussion: "First sightings, firmware versions, fault events and self-tests of the lock with this serial number.")

        @Option(name: .customLong("fleet"), help: ArgumentHelp("The fleet database (default $LOCKDIAG_FLEET).", valueName: "url"))
        var url: String?

        @Argument(help: ArgumentHelp("The lock's serial number.", valueName: "serial"))
        var serial: String

        @Flag(help: "Print JSON (an array of entries) instead of lines.")
        var json = false

        func run() throws {
            try perform { () throws(CLIError) in
                let url = try fleetURL(url)
                let serial = serial
                let entries = try withFleet(url) { db throws(FleetError) in try await db.lockTimeline(serial: serial) }
                if json {
                    Output.out(FleetJSON.text(entries))
                    return .ok
                }
                guard !entries.isEmpty else {
                    throw CLIError(status: .deviceProblem, message: "the fleet has no lock with serial \(DisplayText.safe(serial))")
                }
                let time = ISO8601DateFormatter()
                Output.out(FleetJSON.columns(entries.map {
                    [time.string(from: $0.at), $0.station, $0.kind, $0.detail].map { DisplayText.safe($0) }
                }))
                return .ok
            }
        }
    }
}

/// `30d`, `12h`, `90m` as seconds.
enum FleetAge {
    static func seconds(_ text: String) -> Double? {
        guard let unit = text.last, let value = Double(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "d": return value * 86_400
        case "h": return value * 3_600
        case "m": return value * 60
        default: return nil
        }
    }
}

enum FleetJSON {
    static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(value)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Rows as left-aligned columns two spaces apart.
    static func columns(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        let widths = (0..<width).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
