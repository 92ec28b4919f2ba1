import BLEProtocol

/// The LDP service's handles on one lock.
public struct LDPEndpoints: Hashable, Sendable {
    public var commandHandle: UInt16
    /// Write Without Response is used when the characteristic allows it, else Write Requests.
    public var commandWithoutResponse: Bool
    public var dataHandle: UInt16
    /// The response/event characteristic indicates rather than notifies.
    public var dataIndicates: Bool
}

/// Battery Level on one lock.
public struct BatteryEndpoint: Hashable, Sendable {
    public var valueHandle: UInt16
    public var notifies: Bool
    public var readable: Bool
}

/// What GATT set-up found and configured: everything the link needs to run.
public struct GATTProfile: Sendable, Equatable {
    public var mtu: Int
    public var services: [BluetoothUUID]
    public var ldp: LDPEndpoints?
    public var battery: BatteryEndpoint?
    public var batteryPercent: Int?
    public var deviceInformation: DeviceInformation
    /// LDP bytes that arrived during set-up (after its notifications were enabled).
    public var pendingLDPBytes: [UInt8]

    /// The names `devices.list` shows for the services lockdiag uses.
    public var serviceNames: [String] {
        var names: [String] = []
        if ldp != nil { names.append("ldp") }
        if services.contains(GATTUUID.batteryService) { names.append("battery") }
        if services.contains(GATTUUID.deviceInformationService) { names.append("device_information") }
        return names
    }
}

/// The set-up every connection runs before the link is handed to the poll loop: MTU exchange,
/// primary service discovery, the Battery and Device Information reads, and the LDP service's
/// characteristics with its notifications (or indications) enabled.
public enum GATTSetup {
    public static func run(_ client: GATTClient, endpoint: BLEEndpoint, receiveMTU: Int) throws(BLEError) -> GATTProfile {
        do {
            return try configure(client, endpoint: endpoint, receiveMTU: receiveMTU)
        } catch let error as BLEError {
            throw error
        } catch let error as GATTError {
            throw .gatt(endpoint, error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
    }

    private static func configure(_ client: GATTClient, endpoint: BLEEndpoint, receiveMTU: Int) throws -> GATTProfile {
        let mtu = try client.exchangeMTU(receiveMTU: receiveMTU)
        let services = try client.discoverPrimaryServices()
        var profile = GATTProfile(mtu: mtu, services: services.map(\.uuid), ldp: nil, battery: nil, batteryPercent: nil,
                                  deviceInformation: DeviceInformation(), pendingLDPBytes: [])
        let ldpService = services.first { $0.uuid == LDPGATT.service }
        let batteryService = services.first { $0.uuid == GATTUUID.batteryService }
        let disService = services.first { $0.uuid == GATTUUID.deviceInformationService }
        guard ldpService != nil || batteryService != nil || disService != nil else {
            throw BLEError.notALock(endpoint, services: services.map(\.uuid))
        }

        if let disService {
            let characteristics = try client.discoverCharacteristics(of: disService)
            for (uuid, field) in DeviceInformation.characteristics {
                guard let c = characteristics.first(where: { $0.uuid == uuid }), c.properties.contains(.read) else { continue }
                profile.deviceInformation[keyPath: field] = DeviceInformation.text(try client.read(c.valueHandle))
            }
        }

        if let batteryService, let level = try client.discoverCharacteristics(of: batteryService).first(where: { $0.uuid == GATTUUID.batteryLevel }) {
            var battery = BatteryEndpoint(valueHandle: level.valueHandle, notifies: false, readable: level.properties.contains(.read))
            if battery.readable { profile.batteryPercent = BatteryLevel.percent(try client.read(level.valueHandle)) }
            if level.properties.contains(.notify), let cccd = try cccdHandle(of: level, client) {
                try client.configure(cccd: cccd, notifications: true, indications: false)
                battery.notifies = true
            }
            profile.battery = battery
        }

        if let ldpService {
            let characteristics = try client.discoverCharacteristics(of: ldpService)
            guard let command = characteristics.first(where: { $0.uuid == LDPGATT.command }) else {
                throw BLEError.ldpServiceIncomplete(endpoint, "no command characteristic \(LDPGATT.command)")
            }
            guard command.properties.contains(.writeWithoutResponse) || command.properties.contains(.write) else {
                throw BLEError.ldpServiceIncomplete(endpoint, "the command characteristic cannot be written (properties \(command.properties))")
            }
            guard let data = characteristics.first(where: { $0.uuid == LDPGATT.responseEvent }) else {
                throw BLEError.ldpServiceIncomplete(endpoint, "no response/event characteristic \(LDPGATT.responseEvent)")
            }
            let notifies = data.properties.contains(.notify)
            guard notifies || data.properties.contains(.indicate) else {
                throw BLEError.ldpServiceIncomplete(endpoint, "the response/event characteristic neither notifies nor indicates")
            }
            guard let cccd = try cccdHandle(of: data, client) else {
                throw BLEError.ldpServiceIncomplete(endpoint, "the response/event characteristic has no Client Characteristic Configuration descriptor")
            }
            try client.configure(cccd: cccd, notifications: notifies, indications: !notifies)
            profile.ldp = LDPEndpoints(commandHandle: command.valueHandle, commandWithoutResponse: command.properties.contains(.writeWithoutResponse),
                                       dataHandle: data.valueHandle, dataIndicates: !notifies)
        }

        // What arrived while setting up: LDP bytes to hand on, the latest battery level.
        for n in client.takeNotifications() {
            if let ldp = profile.ldp, n.handle == ldp.dataHandle {
                profile.pendingLDPBytes += n.value
            } else if let battery = profile.battery, n.handle == battery.valueHandle, let percent = BatteryLevel.percent(n.value) {
                profile.batteryPercent = percent
            }
        }
        return profile
    }

    private static func cccdHandle(of characteristic: GATTCharacteristic, _ client: GATTClient) throws(GATTError) -> UInt16? {
        try client.discoverDescriptors(of: characteristic).first { $0.uuid == GATTUUID.clientCharacteristicConfiguration }?.handle
    }
}
