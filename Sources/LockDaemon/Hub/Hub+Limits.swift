extension Hub {
    /// Subscribes `sink` to a device's telemetry unless `limit` other subscribers already watch
    /// it; returns false when full. Subscribing again is not a second subscriber.
    public func subscribe(_ sink: any TelemetrySink, to index: Int, limit: Int) -> Bool {
        state.withLockKeepingViews { s in
            let others = (s.subscriptions[index] ?? []).filter { $0.sink.sinkID != sink.sinkID }
            guard others.count < limit else { return false }
            s.subscriptions[index] = others + [SubscriptionEntry(sink: sink)]
            return true
        }
    }

    /// Whether `sinkID` is still subscribed to any device.
    public func hasSubscriptions(_ sinkID: UInt64) -> Bool {
        state.read { s in s.subscriptions.values.contains { $0.contains { $0.sink.sinkID == sinkID } } }
    }
}
