import BLETransport

/// A BLE lock is driven like any other: its connector thread does the slow GATT set-up, and the
/// loop only ever takes a ready connection (see `BLELink`). Which driver serves it is known only
/// then: the LDP driver when the lock has the LDP service, the GATT driver when it has only the
/// standard ones.
extension BLELink: DeviceLink {
    public var dialectOnceOpen: LinkDialect? { carriesLDP ? .ldp : .gatt }
}

extension BLELink: StandardServicesLink {}
