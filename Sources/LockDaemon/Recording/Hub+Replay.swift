extension Hub {
    /// Registers a replayed lock (`lockdiagd --replay`) and hands its link to the poll loop,
    /// served by the LDP/1 driver like a live one. Returns its slot, nil when every slot is taken.
    func addReplayDevice(_ link: sending ReplayLink) -> Int? {
        guard let slot = placeDevice(transport: link.transport, path: link.path) else { return nil }
        loop.attach(link, slot: slot)
        return slot
    }
}
