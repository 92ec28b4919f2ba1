import BLETransport
import LinuxIO

extension Hub {
    /// Registers a BLE lock (transport `ble`, path its address or the seam's socket) and hands its
    /// link to the poll loop; the link starts connecting at once, on a thread of its own. Returns
    /// its slot, nil when every slot is taken.
    @discardableResult
    public func addBLEDevice(_ endpoint: BLEEndpoint, options: BLEOptions = BLEOptions()) throws(SystemError) -> Int? {
        guard let slot = placeDevice(transport: "ble", path: endpoint.description) else { return nil }
        let link: BLELink
        do { link = try BLELink(endpoint: endpoint, options: options) } catch {
            state.withLock { $0.devices[slot] = nil }
            throw error
        }
        let status = link.status
        state.withLock { $0.devices[slot]?.ble = status }
        loop.attach(link, slot: slot)
        return slot
    }
}
