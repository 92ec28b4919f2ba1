/// Which side sent a frame: the Wi-Fi/BLE module (or lockdiag playing it) or the product's MCU.
public enum TuyaDirection: Sendable, Equatable {
    case fromModule
    case fromMCU
}

/// The time prefix of a low-power record report (0x08): a flag byte (0: the MCU has no valid
/// time, the module stamps the record on arrival) then year − 2000, month, day, hour, minute,
/// second (tuya-mcu.md §4.3).
public struct TuyaRecordTime: Sendable, Equatable, CustomStringConvertible {
    public var valid: Bool
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    public init(valid: Bool, year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.valid = valid
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// `2024-03-05T14:07:09` (the lock's own clock; Tuya says nothing of its zone).
    public var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))"
    }

    /// The 7 bytes on the wire.
    public var encoded: [UInt8] {
        [valid ? 1 : 0, UInt8(clamping: year - 2000), UInt8(clamping: month), UInt8(clamping: day),
         UInt8(clamping: hour), UInt8(clamping: minute), UInt8(clamping: second)]
    }
}

/// What an MCU's product-information reply says: `{"p":"<PID>","v":"<MCU version>",…}`.
public struct TuyaProductInfo: Sendable, Equatable {
    /// The product id the Tuya platform gave the product; it selects the DP schema.
    public var pid: String
    public var mcuVersion: String?
    /// The reply as sent (bounded, UTF-8 or not).
    public var text: String

    public init(pid: String, mcuVersion: String?, text: String) {
        self.pid = pid
        self.mcuVersion = mcuVersion
        self.text = text
    }

    /// Reads `"p"` and `"v"` out of the reply. Not a general JSON parser: the reply is a flat
    /// object of short strings and numbers, and anything else yields what could be read.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> TuyaProductInfo? {
        let text = String(decoding: bytes.prefix(512), as: UTF8.self)
        guard let pid = field("p", in: text) ?? field("P", in: text) else { return nil }
        return TuyaProductInfo(pid: pid, mcuVersion: field("v", in: text), text: text)
    }

    static func field(_ key: String, in text: String) -> String? {
        let chars = Array(text.unicodeScalars)
        let pattern = Array("\"\(key)\"".unicodeScalars)
        var i = 0
        while i + pattern.count <= chars.count {
            if Array(chars[i..<(i + pattern.count)]) == pattern {
                var j = i + pattern.count
                while j < chars.count, chars[j] == " " { j += 1 }
                guard j < chars.count, chars[j] == ":" else { i += 1; continue }
                j += 1
                while j < chars.count, chars[j] == " " { j += 1 }
                guard j < chars.count, chars[j] == "\"" else { return nil }
                j += 1
                var value = String.UnicodeScalarView()
                while j < chars.count, chars[j] != "\"" {
                    value.append(chars[j])
                    j += 1
                }
                guard j < chars.count, value.count <= 64 else { return nil }
                return String(value)
            }
            i += 1
        }
        return nil
    }
}

/// A frame read for its meaning, given the protocol variant and who sent it.
public enum TuyaMessage: Sendable, Equatable {
    case heartbeat
    /// The MCU's heartbeat answer: `first` (0x00) only on its first answer after it started.
    case heartbeatReply(first: Bool)
    case productInfoQuery
    case productInfo(TuyaProductInfo)
    case workingModeQuery
    case workingMode([UInt8])
    /// The module's network state (standard 0x03, low-power 0x02).
    case networkStatus(UInt8)
    /// The MCU's empty acknowledgement of a network-status frame.
    case networkStatusAck
    /// Module → MCU: set DPs.
    case dpSend([TuyaDataPoint])
    /// MCU → module: DP status (standard 0x07, or 0x22 that wants an ack).
    case dpReport([TuyaDataPoint], needsAck: Bool)
    case dpQuery
    /// Low-power 0x05 from the MCU.
    case realtimeReport([TuyaDataPoint])
    /// Low-power 0x08 from the MCU.
    case recordReport(TuyaRecordTime, [TuyaDataPoint])
    /// The module's acknowledgement of a report (low-power 0x05/0x08, standard 0x23); result 0 = received.
    case reportAck(command: UInt8, result: UInt8)
    case localTimeQuery
    case localTime([UInt8])
    /// Low-power 0x10 from the MCU: what did the module cache for me.
    case dpCacheQuery
    case dpCacheReply([UInt8])
    /// A command this reader does not interpret (counted, shown raw in the log).
    case other(command: UInt8)

    /// Reads `data` of a frame with `command`. Throws only for DP lists that cannot be framed;
    /// unknown commands are `.other`.
    public static func parse(command: UInt8, data: UnsafeRawBufferPointer, variant: TuyaVariant,
                             from direction: TuyaDirection) throws(TuyaDPError) -> TuyaMessage {
        let mcu = direction == .fromMCU
        switch variant {
        case .standard:
            switch command {
            case TuyaCommand.heartbeat:
                return mcu ? .heartbeatReply(first: data.first == 0) : .heartbeat
            case TuyaCommand.productInfo:
                if mcu, let info = TuyaProductInfo.parse(data) { return .productInfo(info) }
                return mcu ? .other(command: command) : .productInfoQuery
            case TuyaCommand.workingMode:
                return mcu ? .workingMode([UInt8](data)) : .workingModeQuery
            case TuyaCommand.networkStatus:
                return mcu ? .networkStatusAck : .networkStatus(data.first ?? 0)
            case TuyaCommand.dpSend:
                return mcu ? .other(command: command) : .dpSend(try TuyaDPCodec.decode(data))
            case TuyaCommand.dpReport:
                return mcu ? .dpReport(try TuyaDPCodec.decode(data), needsAck: false) : .other(command: command)
            case TuyaCommand.dpQuery:
                return mcu ? .other(command: command) : .dpQuery
            case TuyaCommand.dpReportSync:
                return mcu ? .dpReport(try TuyaDPCodec.decode(data), needsAck: true) : .other(command: command)
            case TuyaCommand.dpReportSyncAck:
                return mcu ? .other(command: command) : .reportAck(command: command, result: data.first ?? 0)
            case TuyaCommand.localTime:
                return mcu ? .localTimeQuery : .localTime([UInt8](data))
            default:
                return .other(command: command)
            }
        case .lowPower:
            switch command {
            case TuyaLowPowerCommand.productInfo:
                if mcu, let info = TuyaProductInfo.parse(data) { return .productInfo(info) }
                return mcu ? .other(command: command) : .productInfoQuery
            case TuyaLowPowerCommand.networkStatus:
                return mcu ? .networkStatusAck : .networkStatus(data.first ?? 0)
            case TuyaLowPowerCommand.realtimeReport:
                return mcu ? .realtimeReport(try TuyaDPCodec.decode(data)) : .reportAck(command: command, result: data.first ?? 0)
            case TuyaLowPowerCommand.recordReport:
                guard mcu else { return .reportAck(command: command, result: data.first ?? 0) }
                guard data.count >= 7 else { throw .truncatedHeader(offset: data.count) }
                let time = TuyaRecordTime(valid: data[0] != 0, year: 2000 + Int(data[1]), month: Int(data[2]), day: Int(data[3]),
                                          hour: Int(data[4]), minute: Int(data[5]), second: Int(data[6]))
                return .recordReport(time, try TuyaDPCodec.decode(UnsafeRawBufferPointer(rebasing: data[7...])))
            case TuyaLowPowerCommand.localTime:
                return mcu ? .localTimeQuery : .localTime([UInt8](data))
            case TuyaLowPowerCommand.dpCache:
                return mcu ? .dpCacheQuery : .dpCacheReply([UInt8](data))
            default:
                return .other(command: command)
            }
        }
    }

    public static func parse(_ frame: TuyaFrame, variant: TuyaVariant, from direction: TuyaDirection) throws(TuyaDPError) -> TuyaMessage {
        let result = frame.data.withUnsafeBytes { raw in
            Result { () throws(TuyaDPError) in try parse(command: frame.command, data: raw, variant: variant, from: direction) }
        }
        return try result.get()
    }
}
