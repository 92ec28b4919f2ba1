import LinuxIO

/// Why a simulator call failed, worded for the person at the `locksim` prompt.
public enum SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownScenario(String)
    case noSuchLock(Int, count: Int)
    case notRunning
    case alreadyUnplugged(Int)
    case alreadyPlugged(Int)
    case timedOut(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .unknownScenario(let name):
            "unknown scenario '\(name)'; known: \(Scenario.allCases.map(\.rawValue).joined(separator: ", "))"
        case .noSuchLock(let index, let count):
            "no lock \(index): this simulator serves locks 0…\(count - 1)"
        case .notRunning: "the simulator is not running: call start() first"
        case .alreadyUnplugged(let index): "lock \(index) is already unplugged; replug it first"
        case .alreadyPlugged(let index): "lock \(index) is plugged in; unplug it first"
        case .timedOut(let what): "the simulator thread did not carry out '\(what)' in time"
        case .system(let error): error.description
        }
    }
}
