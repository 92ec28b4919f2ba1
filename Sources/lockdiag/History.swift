import ArgumentParser
import Foundation
import LockDiagAPI
import LockDiagCLI

extension LockDiag.Faults {
    /// `lockdiag faults --history DEVICE [--since TIME]`.
    func runHistory() throws {
        try perform { () throws(CLIError) in
            guard let device else {
                throw CLIError(status: .usage, message: "--history needs a device: lockdiag faults --history DEVICE (ids from `lockdiag list`)")
            }
            let since = try since.map { text throws(CLIError) in try HistoryTime.absolute(text) }
            let session = try Session(options)
            let history = try session.call(APIMethod.faultsHistory, params: FaultsHistoryParams(device: device, since: since),
                                           as: FaultHistory.self)
            if options.json {
                printJSON(history.raw)
            } else {
                Output.out(HistoryRenderer.render(history.value, style: Terminal.style(json: false)))
            }
            return .ok
        }
    }
}

/// `--since` as the API wants it: ISO 8601 as given, or `7d`, `12h`, `30m` ago.
enum HistoryTime {
    static func absolute(_ text: String, nowMilliseconds: Int64 = Int64(Date().timeIntervalSince1970 * 1000)) throws(CLIError) -> String {
        if APITime.parse(text) != nil { return text }
        let units: [Character: Int64] = ["d": 86_400_000, "h": 3_600_000, "m": 60_000, "s": 1000]
        if let unit = text.last.flatMap({ units[$0] }), let amount = Int64(text.dropLast()), amount >= 0 {
            return APITime.format(milliseconds: nowMilliseconds - amount * unit)
        }
        throw CLIError(status: .usage, message: "--since '\(text)': give a date (2026-11-28), a time (2026-11-28T09:00:00Z) or an age (7d, 12h, 30m)")
    }
}
