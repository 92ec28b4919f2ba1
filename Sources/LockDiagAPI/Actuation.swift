extension TestKind {
    /// Whether the test moves the bolt, so `tests.run` needs `"confirm": true`: the motor test
    /// runs it to the other end and back, and `all` includes it. The battery test loads the pack
    /// through the lock's test resistor and the fingerprint test takes an image; neither actuates
    /// (docs/security.md).
    public var actuates: Bool { self == .motor || self == .all }
}
