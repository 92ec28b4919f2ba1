import DeviceDiscovery
import Logging
import Synchronization
import USBTransport

/// What the daemon is told about USB locks and discovery.
public struct HotplugConfiguration: Sendable {
    /// `--usb`: vendor-bulk locks by port path or serial number, polled whether discovery sees them or not.
    public var usbAddresses: [USBAddress] = []
    /// `--usb-serial`: USB-serial adapters (service cables) to treat as locks, by USB serial number.
    public var adapterSerials: [String] = []
    /// Enumerate and watch udev for locks (off with `--no-discovery`).
    public var discovery = true
    /// How long a discovered lock stays listed after it was unplugged.
    public var forgetUnpluggedSeconds: Double = 600
    public var baudRate: UInt32
    public var usbTimeouts = USBTimeouts()
    /// `--realtime`: SCHED_FIFO for the USB event thread, just below the poll loop's priority.
    public var usbFIFOPriority: Int32? = nil

    public init(baudRate: UInt32) { self.baudRate = baudRate }
}

/// USB and udev for the daemon: the libusb context (and its event thread), discovery (and its
/// thread), the `--usb` locks, and forgetting locks unplugged long ago. Started before the poll
/// loop so the locks present at start are attached from its first tick; stopped after it, so
/// the USB links it closes are released by a context still running.
public final class Hotplug: Sendable {
    public let configuration: HotplugConfiguration
    let hub: Hub
    let logger: Logger
    private let usb: USBContext?
    private let usbProblem: String?
    private let discovery = Mutex<DeviceDiscovery?>(nil)
    private let forgetting = Mutex<Task<Void, Never>?>(nil)

    public init(hub: Hub, configuration: HotplugConfiguration, logger: Logger) {
        self.hub = hub
        self.configuration = configuration
        self.logger = logger
        if configuration.discovery || !configuration.usbAddresses.isEmpty {
            do {
                let context = try USBContext(fifoPriority: configuration.usbFIFOPriority)
                if let problem = context.realtimeProblem {
                    logger.warning("real-time: could not get \(problem) — run as root or grant CAP_SYS_NICE / an rtprio limit")
                } else if let priority = configuration.usbFIFOPriority {
                    logger.info("real-time: SCHED_FIFO priority \(priority) for the USB event thread")
                }
                usb = context
                usbProblem = nil
            } catch {
                usb = nil
                usbProblem = error.description
                logger.warning("\(error)")
            }
        } else {
            usb = nil
            usbProblem = "USB is off (no --usb given and --no-discovery)"
        }
    }

    /// The USB event thread's kernel thread id, for `ps -L` and the benchmark.
    public var usbThreadID: Int32 { usb?.threadID ?? 0 }

    /// Adds the `--usb` locks, then reports the locks plugged in now to the hub and starts
    /// watching for more.
    public func start() {
        for address in configuration.usbAddresses {
            if hub.addUSBDevice(address: address, context: usb, problem: usbProblem, timeouts: configuration.usbTimeouts) == nil {
                logger.error("no free device slot for USB \(address.text)")
            }
        }
        guard configuration.discovery else { return }
        let links = Hub.LinkFactory(usb: usb, usbProblem: usbProblem, baudRate: configuration.baudRate, usbTimeouts: configuration.usbTimeouts)
        let hub = self.hub
        do {
            let watcher = try DeviceDiscovery(policy: DiscoveryPolicy(adapterSerials: Set(configuration.adapterSerials)))
            try watcher.start { event in
                switch event {
                case .added(let device): hub.deviceAppeared(device, links: links)
                case .removed(let device): hub.deviceDisappeared(device)
                }
            }
            discovery.withLock { $0 = watcher }
        } catch {
            logger.warning("\(error)")
            return
        }
        let seconds = configuration.forgetUnpluggedSeconds
        let task = Task.detached(priority: .utility) {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                hub.forgetUnplugged(olderThan: seconds)
            }
        }
        forgetting.withLock { $0 = task }
    }

    /// Stops discovery, then the USB event thread (after the poll loop has closed its links).
    public func stop() {
        forgetting.withLock { task in
            task?.cancel()
            task = nil
        }
        discovery.withLock { watcher in
            watcher?.stop()
            watcher = nil
        }
        usb?.stop()
    }
}
