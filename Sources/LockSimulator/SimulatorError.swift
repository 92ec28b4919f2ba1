import LinuxIO

/// Why a simulator call failed, worded for the person at the `locksim` prompt.
public enum SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownScenario(String)
    case noSuchLock(Int, count: Int)
    case notRunning
    case alreadyUnplugged(Int)
    case alreadyPlugged(Int)
    case timedOut(String)
    /// The lock is served on an existing tty (`--tty`): its cable is the device's own.
    case externalLine(Int, path: String)
    case system(SystemError)
    /// A lock's radio on a real Bluetooth controller could not be set up: what and what to do.
    case bluetooth(String)

    public var description: String {
        switch self {
        case .unknownScenario(let name):
            "unknown scenario '\(name)'; known: \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))"
        case .noSuchLock(let index, let count):
            "no lock \(index): this simulator serves locks 0…\(count - 1)"
        case .notRunning: "the simulator is not running: call start() first"
        case .alreadyUnplugged(let index): "lock \(index) is already unplugged; replug it first"
        case .alreadyPlugged(let index): "lock \(index) is plugged in; unplug it first"
        case .externalLine(let index, let path):
            "lock \(index) is served on \(path): unplug or replug the device itself (for a USB gadget, write its UDC)"
        case .timedOut(let what): "the simulator thread did not carry out '\(what)' in time"
        case .system(let error): error.description
        case .bluetooth(let problem): problem
        }
    }
}
