import USBTransport

extension USBBulkPort: DeviceLink {
    public var transport: String { "usb" }
}
