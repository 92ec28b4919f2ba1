import BLETransport

/// A BLE lock is driven like any other: its connector thread does the slow GATT set-up, and the
/// loop only ever takes a ready connection (see `BLELink`).
extension BLELink: DeviceLink {}
