import TuyaProtocol

/// The Wi-Fi module's side of a simulated Tuya lock, for `locksim --tap`: it drives the lock MCU
/// as a module would (heartbeats, start-up queries, acknowledgements), so a passive tap
/// (`lockdiagd --dialect tuya-sniff`) has real traffic in both directions to listen to.
final class TuyaModuleEmulator {
    let variant: TuyaVariant
    private let decoder = TuyaFrameDecoder()
    private var output: [UInt8] = []
    private var step = 0
    private var nextSend: UInt64 = 0
    /// Heartbeat and re-query cadence: a module heartbeats every 15 s; this one every second so a
    /// tap sees a lively line within a test's patience.
    static let intervalNanoseconds: UInt64 = 1_000_000_000
    static let queryEvery = 5

    init(variant: TuyaVariant) { self.variant = variant }

    /// Module → MCU bytes due by `now`.
    func advance(to now: UInt64) {
        guard now >= nextSend else { return }
        nextSend = now &+ (step < 5 ? Self.intervalNanoseconds / 5 : Self.intervalNanoseconds)
        switch variant {
        case .standard:
            switch step {
            case 0: send(TuyaCommand.heartbeat, [])
            case 1: send(TuyaCommand.productInfo, [])
            case 2: send(TuyaCommand.workingMode, [])
            case 3: send(TuyaCommand.networkStatus, [TuyaNetworkStatus.connectedToCloud])
            case 4: send(TuyaCommand.dpQuery, [])
            default: send(step % Self.queryEvery == 0 ? TuyaCommand.dpQuery : TuyaCommand.heartbeat, [])
            }
        case .lowPower:
            // A battery lock's module comes up, reports and goes again; this one wakes every
            // `queryEvery` seconds, each time with the full power-up exchange.
            switch step % (Self.queryEvery + 4) {
            case 0: send(TuyaLowPowerCommand.productInfo, [])
            case 1: send(TuyaLowPowerCommand.networkStatus, [TuyaNetworkStatus.notConnected])
            case 2: send(TuyaLowPowerCommand.networkStatus, [TuyaNetworkStatus.connectedToRouter])
            case 3: send(TuyaLowPowerCommand.networkStatus, [TuyaNetworkStatus.connectedToCloud])
            default: break
            }
            if step % (Self.queryEvery + 4) < 4 { nextSend = now &+ Self.intervalNanoseconds / 5 }
        }
        step += 1
    }

    /// MCU → module bytes: reports are acknowledged at once.
    func receive(_ bytes: [UInt8]) {
        var acks: [UInt8] = []
        decoder.feed(bytes) { out in
            guard case .frame(let frame) = out, variant == .lowPower else { return }
            if frame.command == TuyaLowPowerCommand.realtimeReport || frame.command == TuyaLowPowerCommand.recordReport {
                acks.append(frame.command)
            }
        }
        for command in acks { send(command, [0]) }
    }

    private func send(_ command: UInt8, _ data: [UInt8]) {
        if let frame = TuyaFrameEncoder.encode(version: Tuya.moduleVersion, command: command, data: data) { output += frame }
    }

    func takeOutput() -> [UInt8] {
        defer { output.removeAll(keepingCapacity: true) }
        return output
    }
}
