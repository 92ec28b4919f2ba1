import ArgumentParser

/// A numeric command-line option's documented range: the one place its bounds are written,
/// used both for its `--help` text and for checking the value given. A value outside the range
/// (for floating-point options also `inf` and `nan`, which no closed range with finite bounds
/// contains) is a usage error, exit 64, naming the option and the range.
///
/// Every numeric option of lockdiagd, lockdiag and locksim has one: a value a conversion to
/// nanoseconds or an array size cannot hold (`--idle-timeout inf`, `--simulate-activity 1e11`)
/// must never reach the code that converts it.
public struct OptionRange<Value: Comparable & Sendable>: Sendable {
    /// The option's long name with its dashes: `--idle-timeout`.
    public let option: String
    public let bounds: ClosedRange<Value>
    /// The unit after the range in messages (`seconds`, `bytes`), or "".
    public let unit: String

    public init(_ option: String, _ bounds: ClosedRange<Value>, unit: String = "") {
        precondition(option.hasPrefix("--"), "an option's long name, with its dashes")
        self.option = option
        self.bounds = bounds
        self.unit = unit
    }

    /// `0–86400 seconds`.
    public var rangeText: String {
        "\(Self.format(bounds.lowerBound))–\(Self.format(bounds.upperBound))" + (unit.isEmpty ? "" : " \(unit)")
    }

    /// `help` with the range appended, so `--help` and the docs show what `check` enforces.
    public func help(_ text: String) -> String { "\(text) (\(rangeText))" }

    /// `value` if it lies in the range; otherwise a usage error naming the option and the range.
    public func check(_ value: Value) throws(ValidationError) {
        try validate(value)
    }

    /// Checks an optional option: nil (not given) passes.
    public func check(_ value: Value?) throws(ValidationError) {
        if let value { try validate(value) }
    }

    private func validate(_ value: Value) throws(ValidationError) {
        guard bounds.contains(value) else {
            throw ValidationError("\(option) must be \(rangeText), not \(Self.format(value))")
        }
    }

    static func format(_ value: Value) -> String {
        // 86400.0 reads as 86400 in a message; 0.1 stays 0.1.
        if let double = value as? Double, double.isFinite, double == double.rounded(), abs(double) < 1e15 {
            return String(Int64(double))
        }
        return "\(value)"
    }
}
