// How a device name in a request picks a lock (docs/socket-api.md, "Devices and ids"). One rule
// for the daemon (every method that takes `device`) and for clients that pick locks themselves
// (a bench plan's `ids`), so a name can never mean one lock here and another there.

/// A lock a name could mean, as the `-32008 ambiguous device` error lists it (`data.candidates`).
public struct DeviceCandidate: Codable, Sendable, Equatable {
    /// Its id in `devices.list`: the name that picks exactly this lock.
    public var id: String
    public var path: String
    public var transport: String
    public var serial: String?

    public init(id: String, path: String, transport: String, serial: String?) {
        self.id = id
        self.path = path
        self.transport = transport
        self.serial = serial
    }

    public init(_ device: DeviceSummary) {
        self.init(id: device.id, path: device.path, transport: device.transport, serial: device.serial)
    }
}

/// Which lock a device name means: an id names exactly that lock (ids are unique); a name that
/// is no id names the one lock with that serial number or path, and none when several have it.
public enum DeviceName {
    public enum Match: Sendable, Equatable {
        /// The position of the lock it names.
        case one(Int)
        case none
        /// The positions of every lock with that serial number or path: the caller must give an id.
        case several([Int])
    }

    public static func match(_ name: String, in candidates: [DeviceCandidate]) -> Match {
        if let exact = candidates.firstIndex(where: { $0.id == name }) { return .one(exact) }
        let hits = candidates.indices.filter { candidates[$0].serial == name || candidates[$0].path == name }
        switch hits.count {
        case 0: return .none
        case 1: return .one(hits[0])
        default: return .several(hits)
        }
    }
}
