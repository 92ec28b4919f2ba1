import NIOCore

/// What one request line means to the server before anything runs: blank, not JSON, an empty
/// batch, a batch, or one request (valid or not). Pure, so the server and the fuzz targets read
/// lines the same way (docs/json-rpc.md, "Framing" and "Batches").
enum RequestLine {
    case blank
    case unparsable(JSONParseError)
    /// `[]`: §6 answers it with one error object, not an array.
    case emptyBatch
    case batch([Result<RPCRequest, RPCRequest.Invalid>])
    case single(Result<RPCRequest, RPCRequest.Invalid>)

    init(_ bytes: [UInt8]) {
        // Blank lines (and a lone "\r" from CRLF senders) are not requests.
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
            self = .blank
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: bytes)
        } catch {
            self = .unparsable(error)
            return
        }
        if case .array(let elements) = value {
            self = elements.isEmpty ? .emptyBatch : .batch(elements.map(RPCRequest.validate))
            return
        }
        self = .single(RPCRequest.validate(value))
    }

    /// How many requests the line counts as, for the statistics and the rate limit: each batch
    /// element is one, an empty batch one, a blank line none.
    var requestCount: Int {
        switch self {
        case .blank: 0
        case .unparsable, .emptyBatch, .single: 1
        case .batch(let elements): elements.count
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `perSecond`. Lives on one connection's
/// event loop, so it needs no lock.
struct RequestRate {
    let perSecond: Double
    let burst: Int
    private var tokens: Double
    private var refilledAt: NIODeadline

    init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = Double(burst)
        refilledAt = .now()
    }

    /// Takes `count` tokens if there are that many; a rate of 0 means no limit.
    mutating func take(_ count: Int, now: NIODeadline) -> Bool {
        guard perSecond > 0 else { return true }
        let elapsed = Double((now - refilledAt).nanoseconds) / 1e9
        tokens = min(Double(burst), tokens + max(0, elapsed) * perSecond)
        refilledAt = now
        guard tokens >= Double(count) else { return false }
        tokens -= Double(count)
        return true
    }
}
