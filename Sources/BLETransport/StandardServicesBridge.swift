import BLEProtocol
import LockProtocol

/// Presents a lock that exposes only the standard Battery and Device Information services as an
/// LDP/1 device without capabilities, so the daemon lists, monitors and diagnoses it through the
/// same poll loop, hub and API as any other lock: IDENTIFY is answered from the Device
/// Information Service, READ_STATUS with the latest Battery Level (everything else in it
/// unknown), any other request with NAK NOT_AVAILABLE. It runs on the poll loop's thread and
/// allocates nothing per request.
final class StandardServicesBridge {
    var batteryPercent: Int?
    private let decoder = FrameDecoder()
    private let identityPayload: [UInt8]
    private let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: LDP.maxFrameSize, alignment: 8)
    private let status = UnsafeMutableRawBufferPointer.allocate(byteCount: LockStatus.size, alignment: 8)

    init(deviceInformation info: DeviceInformation, batteryPercent: Int?) {
        self.batteryPercent = batteryPercent
        let identity = Identity(capabilities: [], traceSampleRateHz: 0, traceCapacity: 0, model: info.model ?? "",
                                hardwareRevision: info.hardwareRevision ?? "", firmwareVersion: info.firmwareRevision ?? info.softwareRevision ?? "",
                                serial: info.serial ?? "")
        identityPayload = Response.identify(identity).payload
        status.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        frame.deallocate()
        status.deallocate()
    }

    /// Takes bytes the host sent; `emit` gets each answer frame.
    func receive(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) {
        decoder.feed(bytes) { output in
            guard case .frame(let request) = output, request.header.kind == .request else { return }
            answer(request.header, emit: emit)
        }
    }

    private func answer(_ header: FrameHeader, emit: (UnsafeRawBufferPointer) -> Void) {
        let written: Int?
        switch header.type {
        case MessageType.identify.rawValue:
            written = identityPayload.withUnsafeBytes { payload in
                FrameEncoder.encode(kind: .response, seq: header.seq, type: header.type, payload: payload, into: frame)
            }
        case MessageType.readStatus.rawValue:
            // §6.2 layout: bolt, door, motor, flags, battery_mv (2), battery_pct, active_faults,
            // temperature_dc (2), motor_current_ma (2), actuations (4), uptime_s (4). All unknown
            // or zero but the percentage.
            status[6] = batteryPercent.map { UInt8(clamping: $0) } ?? LockStatus.unknownPercent
            status[8] = UInt8(truncatingIfNeeded: LockStatus.unknownTemperature)
            status[9] = UInt8(truncatingIfNeeded: LockStatus.unknownTemperature >> 8)
            written = FrameEncoder.encode(kind: .response, seq: header.seq, type: header.type, payload: UnsafeRawBufferPointer(status), into: frame)
        default:
            let known = MessageType(rawValue: header.type) != nil
            var code = known ? NakCode.notAvailable.rawValue : NakCode.unknownMessage.rawValue
            written = withUnsafeBytes(of: &code) { payload in
                FrameEncoder.encode(kind: .nak, seq: header.seq, type: header.type, payload: payload, into: frame)
            }
        }
        if let written { emit(UnsafeRawBufferPointer(rebasing: frame[0..<written])) }
    }
}
