import BLEProtocol
import BLETransport
import LinuxIO
import LockDiagAPI

/// What a BLE lock's connection adds to its views.
struct BLEDetails {
    var information: DeviceInformation
    var problem: String?
    var info: BLELinkInfo
}

extension DeviceState {
    /// A BLE lock whose GATT set-up found no LDP service: the GATT driver serves it
    /// (Drivers/GATT; only its battery level is a reading).
    var isGATTOnly: Bool { ble?.snapshot().profile.map { $0.ldp == nil } ?? false }

    func bleDetails(now: UInt64) -> BLEDetails? {
        guard let ble else { return nil }
        let s = ble.snapshot()
        let profile = s.profile
        let addressType: String? = if case .address(let address) = ble.endpoint { address.type.rawValue } else { nil }
        let next = s.phase == .waiting ? s.nextAttemptNanoseconds.map { $0 > now ? (Double($0 - now) / 1e8).rounded() / 10 : 0 } : nil
        let info = BLELinkInfo(addressType: addressType, phase: s.phase.rawValue, mtu: profile?.mtu, services: profile?.serviceNames ?? [],
                               security: ble.options.security.rawValue, connectionAttempts: s.attempts, connections: s.connections,
                               nextAttemptInSeconds: next, batteryPercent: s.batteryPercent, pdusIn: s.pdusIn, pdusOut: s.pdusOut,
                               notifications: s.notifications, errorResponses: s.errorResponses)
        return BLEDetails(information: profile?.deviceInformation ?? DeviceInformation(), problem: ble.problem(now: now), info: info)
    }

    func nonEmpty(_ text: String?) -> String? { text?.isEmpty == false ? text : nil }
}
