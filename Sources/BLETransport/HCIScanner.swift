import BLEProtocol
import CBlueZ
import LinuxIO
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An LE scan through a raw HCI socket (libbluetooth): scan parameters, enable, the LE Meta
/// events' advertising reports parsed by `HCIEvent` and deduplicated by `ScanTable`, disable.
public final class HCIScanner {
    /// The adapter scanning (`hci0`) and its address.
    public let adapterName: String
    public let adapterAddress: String?
    private let dd: Int32

    /// Opens the adapter (by name, or the first one up). Throws `BLEError.bluetoothUnavailable`
    /// on a host without Bluetooth, `.noAdapter` without an adapter.
    public init(adapter: String? = nil) throws(BLEError) {
        let id: Int32
        do { id = try Syscalls.adapterID(adapter) } catch { throw BLEError.classify(error) }
        let info = Syscalls.adapterInfo(id)
        adapterName = info?.name ?? "hci\(id)"
        adapterAddress = info?.address
        do { dd = try Syscalls.openAdapter(id) } catch { throw BLEError.classify(error) }
    }

    deinit { Syscalls.closeAdapter(dd) }

    /// Scans for `seconds` (or until `stop` holds), calling `progress` with the table after each
    /// report. Active scanning asks scannable devices for their scan response (usually the name).
    public func scan(seconds: Double, active: Bool = true, stop: () -> Bool = { false },
                     progress: (ScanTable) -> Void = { _ in }) throws(BLEError) -> ScanTable {
        do {
            // A scan left running (by a crashed tool) makes the parameters command fail: stop it first.
            try? Syscalls.setScanEnable(dd, false)
            try Syscalls.setScanParameters(dd, active: active)
        } catch { throw BLEError.classify(error) }
        let oldFilter: hci_filter
        do { oldFilter = try Syscalls.filterLEMetaEvents(dd) } catch { throw BLEError.classify(error) }
        defer { Syscalls.restoreFilter(dd, oldFilter) }
        do { try Syscalls.setScanEnable(dd, true) } catch { throw BLEError.classify(error) }
        defer { try? Syscalls.setScanEnable(dd, false) }

        var table = ScanTable()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(HCI_MAX_EVENT_SIZE) + 8, alignment: 8)
        defer { buffer.deallocate() }
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, seconds) * 1e9)
        while !stop() {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { break }
            let wait = Int32(min(200, (deadline - now) / 1_000_000 + 1))
            let n: Int?
            do { n = try Syscalls.readEvent(dd, into: buffer, timeoutMilliseconds: wait) } catch { throw BLEError.classify(error) }
            guard let n, n > 0 else { continue }
            let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            // A malformed event is skipped: one bad packet must not end the scan.
            guard let reports = try? HCIEvent.advertisingReports(packet: bytes) else { continue }
            for report in reports { table.add(report, at: MonotonicClock.nanoseconds()) }
            if !reports.isEmpty { progress(table) }
        }
        return table
    }
}
