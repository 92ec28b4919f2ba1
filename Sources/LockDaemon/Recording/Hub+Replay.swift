extension Hub {
    /// Registers a replayed lock (`lockdiagd --replay`) and hands its link to the poll loop,
    /// served by the LDP/1 driver like a live one. Returns its slot, nil when every slot is taken.
    func addReplayDevice(_ link: sending ReplayLink) -> Int? {
        let diagnosis = self.diagnosis
        let transport = link.transport, path = link.path
        let slot: Int? = state.withLock { s in
            guard let free = s.devices.firstIndex(where: { $0 == nil }) else { return nil }
            s.place(DeviceState(index: free, transport: transport, path: path, diagnosis: diagnosis))
            return free
        }
        guard let slot else { return nil }
        loop.attach(link, slot: slot)
        return slot
    }
}
