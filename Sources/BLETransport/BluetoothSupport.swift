import LinuxIO

/// Whether this host can do Bluetooth at all.
public enum BluetoothSupport {
    /// Throws `BLEError.bluetoothUnavailable` when the kernel has no AF_BLUETOOTH (so `--ble`
    /// can fail at start with a message, not retry forever). A missing or powered-off adapter is
    /// not checked here: an adapter can be plugged in later, and the link keeps trying.
    public static func check() throws(BLEError) {
        do {
            let fd = try Syscalls.l2capATTSocket()
            FileIO.close(fd)
        } catch {
            if case .bluetoothUnavailable = BLEError.classify(error) { throw .bluetoothUnavailable(error) }
        }
    }
}
