extension Hub {
    /// Registers a replayed lock (`lockdiagd --replay`) and hands its link to the poll loop,
    /// served by the driver of `dialect` (LDP/1, or Tuya as the module) like a live one. Returns
    /// its slot, nil when every slot is taken.
    func addReplayDevice(_ link: sending ReplayLink, dialect: DialectSpec = .ldp) throws(DialectError) -> Int? {
        let tuya = dialect.kind == .ldp ? nil : try tuyaState(dialect)
        guard let slot = placeDevice(transport: link.transport, path: link.path, { $0.tuya = tuya }) else { return nil }
        loop.attach(link, slot: slot, dialect: dialect.linkDialect)
        return slot
    }
}
