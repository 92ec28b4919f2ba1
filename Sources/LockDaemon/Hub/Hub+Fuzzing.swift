import LockDiagAPI

extension Hub {
    /// Applies one ring record exactly as the hub thread does, then runs the periodic checks,
    /// for the `hub-records` fuzz target (Sources/LockDiagFuzz): whatever a lock sends reaches
    /// the diagnosis through here. Effects that would start commands or deliver telemetry are
    /// dropped; the state changes are real. Not for anything but fuzzing.
    @_spi(Fuzzing) public func applyForFuzzing(_ header: RecordHeader, payload: UnsafeRawBufferPointer, periodicAt monotonic: UInt64?) {
        var effects = Effects()
        state.withLock { s in
            handle(header, payload: payload, state: &s, effects: &effects)
            if let monotonic { periodicChecks(now: monotonic, state: &s, effects: &effects) }
        }
        for (device, event) in effects.events { offer(event, device: device) }
    }
}
