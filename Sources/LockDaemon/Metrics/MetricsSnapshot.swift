import LinuxIO
import LockDiagAPI
import LockProtocol

/// What a Prometheus scrape shows, copied out of the hub in one short hold of its state lock
/// (the poll loop is never asked: its figures come from what it already published).
public struct MetricsSnapshot: Sendable {
    /// One lock as the metrics show it.
    public struct Device: Sendable {
        public var id: String
        public var transport: String
        public var model: String?
        public var firmware: String?
        public var online: Bool
        public var batteryMillivolts: Int?
        public var batteryPercent: Int?
        public var lifetimeActuations: UInt32?
        public var lastActuation: ActuationSummary?
        public var faults: [(code: String, name: String, status: FaultStatus)]
        public var link: LinkStats

        public init(id: String, transport: String, model: String? = nil, firmware: String? = nil, online: Bool,
                    batteryMillivolts: Int? = nil, batteryPercent: Int? = nil, lifetimeActuations: UInt32? = nil,
                    lastActuation: ActuationSummary? = nil, faults: [(code: String, name: String, status: FaultStatus)] = [],
                    link: LinkStats) {
            self.id = id
            self.transport = transport
            self.model = model
            self.firmware = firmware
            self.online = online
            self.batteryMillivolts = batteryMillivolts
            self.batteryPercent = batteryPercent
            self.lifetimeActuations = lifetimeActuations
            self.lastActuation = lastActuation
            self.faults = faults
            self.link = link
        }
    }

    public var version: String
    public var uptimeSeconds: Double
    public var devices: [Device]
    public var loop: LoopStatistics

    public init(version: String, uptimeSeconds: Double, devices: [Device], loop: LoopStatistics) {
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.devices = devices
        self.loop = loop
    }
}

extension Hub {
    /// One scrape: the devices as the hub's snapshot shows them and the statistics
    /// the poll loop last published. The loop is never asked (nothing goes to its inbox, nothing
    /// waits for it), so a scrape neither slows it nor hangs when it is stalled.
    public func metricsSnapshot(version: String, uptimeSeconds: Double) -> MetricsSnapshot {
        MetricsSnapshot(version: version, uptimeSeconds: uptimeSeconds, devices: metricsDevices(), loop: loop.statistics)
    }

    /// The scrape's view of every device, from the hub's published snapshot (HubSnapshot): a
    /// scrape never waits on the hub's state lock.
    public func metricsDevices() -> [MetricsSnapshot.Device] {
        let now = MonotonicClock.nanoseconds()
        let silence = silenceNanoseconds
        // The same views devices.list and device.status show: every family's model and battery.
        return snapshot.views.map { view in
            let d = view.state
            let readings = d.readings
            let summary = d.summary(now: now, silenceNanoseconds: silence)
            return MetricsSnapshot.Device(
                id: d.id, transport: d.transport, model: summary.model, firmware: summary.firmware, online: summary.online,
                batteryMillivolts: readings.batteryMillivolts?.value, batteryPercent: readings.batteryPercent?.value,
                lifetimeActuations: readings.actuations, lastActuation: d.lastActuation,
                faults: d.faults.ordered.map { entry in
                    let fault = d.apiFault(entry)
                    return (fault.code, fault.name, fault.status)
                },
                link: d.linkStats())
        }
    }
}
