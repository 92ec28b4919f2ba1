// Numbers with their units, written the same way everywhere: "5.91 V", "1801 mA", "21.5 °C".

/// Formatting of measured values with their units.
public enum Units {
    /// Millivolts as volts with two decimals: 5910 → "5.91 V".
    public static func volts(millivolts: Int) -> String {
        "\(fixed(Double(millivolts) / 1000, decimals: 2)) V"
    }

    /// How every view writes a quantity the lock did not report: never as 0.
    public static let unknown = "—"

    /// A battery reading: "5.91 V (81 %)", "5.91 V", "81 %", "level low", or "—" when nothing is known.
    public static func battery(millivolts: Int?, percent: Int?, band: String? = nil) -> String {
        var text = millivolts.map { volts(millivolts: $0) }
        if let percent { text = text.map { "\($0) (\(percent) %)" } ?? "\(percent) %" }
        if let band { text = text.map { "\($0), level \(band)" } ?? "level \(band)" }
        return text ?? unknown
    }

    public static func milliamps(_ value: Int) -> String { "\(value) mA" }
    /// "312 mA", or "—" when the lock does not measure it.
    public static func milliamps(_ value: Int?) -> String { value.map { milliamps($0) } ?? unknown }
    public static func millivolts(_ value: Int) -> String { "\(value) mV" }
    public static func milliseconds(_ value: Int) -> String { "\(value) ms" }
    public static func milliohms(_ value: Int) -> String { "\(value) mΩ" }
    public static func microseconds(_ value: UInt64) -> String { "\(value) µs" }
    public static func hertz(_ value: Int) -> String { "\(value) Hz" }

    /// Degrees Celsius with one decimal: "21.5 °C".
    public static func celsius(_ value: Double) -> String { "\(fixed(value, decimals: 1)) °C" }

    /// A duration in seconds for people: "0.8 s", "42 s", "3 min 12 s", "5 h 3 min", "4 d 18 h".
    public static func duration(seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return "\(fixed(seconds, decimals: 1)) s" }
        let whole = Int(seconds)
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        if whole < 86400 { return "\(whole / 3600) h \(whole % 3600 / 60) min" }
        return "\(whole / 86400) d \(whole % 86400 / 3600) h"
    }

    /// An API timestamp (ISO 8601 UTC, `2026-11-29T00:21:42.627Z`) as "2026-11-29 00:21:42 UTC".
    /// Anything else comes back unchanged.
    public static func timestamp(_ iso: String) -> String {
        let characters = Array(iso)
        guard characters.count >= 19, characters[10] == "T", iso.hasSuffix("Z") else { return iso }
        return String(characters[0..<10]) + " " + String(characters[11..<19]) + " UTC"
    }

    /// The time of day of an API timestamp: "00:21:42"; the input when it is not one.
    public static func timeOfDay(_ iso: String) -> String {
        let characters = Array(iso)
        guard characters.count >= 19, characters[10] == "T" else { return iso }
        return String(characters[11..<19])
    }

    /// `last` shortened to its time of day when it is on the same date as `first`.
    public static func timestamp(_ last: String, sameDayAs first: String) -> String {
        if last.count >= 19, first.count >= 10, last.prefix(10) == first.prefix(10) {
            return timeOfDay(last) + " UTC"
        }
        return timestamp(last)
    }

    /// `value` with exactly `decimals` digits after the point, rounded half away from zero,
    /// without Foundation's locale-dependent formatting.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "?" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e15 else { return "\(value)" }
        let integer = Int(scaled)
        let sign = value < 0 && integer != 0 ? "-" : ""
        let whole = integer / Int(scale)
        guard decimals > 0 else { return sign + "\(whole)" }
        let fraction = String(integer % Int(scale))
        return sign + "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// "1 fault", "2 faults".
    public static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }
}
