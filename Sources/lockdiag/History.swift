import ArgumentParser
import Foundation
import JSONRPC
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
            let history = try Self.wholeHistory(session, device: device, since: since)
            if options.json {
                printJSON(history.raw)
            } else {
                Output.out(HistoryRenderer.render(history.value, style: Terminal.style(json: false)))
            }
            return .ok
        }
    }

    /// Every page of `faults.history`, newest page first, followed by its `next_cursor` and put
    /// together oldest first: the whole history, as one faults.history result would have been.
    /// A page over the daemon's reply-size limit is asked for again, half as large.
    static func wholeHistory(_ session: Session, device: String, since: String?) throws(CLIError) -> Reply<FaultHistory> {
        var params = FaultsHistoryParams(device: device, since: since, limit: FaultsHistoryParams.maxLimit)
        var first: Reply<FaultHistory>?
        var rawPages: [[JSONValue]] = []
        var pages: [[FaultEvent]] = []
        while true {
            let page: Reply<FaultHistory>
            do {
                page = try session.call(APIMethod.faultsHistory, params: params, as: FaultHistory.self)
            } catch where error.rpcCode == RPCError.Code.limitExceeded && (params.limit ?? 1) > 1 {
                // The page was over lockdiagd's reply-size limit (--max-reply-bytes): ask for smaller ones.
                params.limit = max(1, (params.limit ?? FaultsHistoryParams.defaultLimit) / 2)
                continue
            }
            if first == nil { first = page }
            pages.append(page.value.events)
            if case .array(let events)? = page.raw["events"] { rawPages.append(events) }
            guard let next = page.value.nextCursor, !page.value.events.isEmpty else { break }
            params.cursor = next
        }
        guard var whole = first else { throw CLIError(status: .failure, message: "faults.history returned no page") }
        whole.value.events = pages.reversed().flatMap { $0 }
        whole.value.truncated = false
        whole.value.nextCursor = nil
        if case .object(var members) = whole.raw {
            members["events"] = .array(rawPages.reversed().flatMap { $0 })
            members["truncated"] = false
            members["next_cursor"] = nil
            whole.raw = .object(members)
        }
        return whole
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
