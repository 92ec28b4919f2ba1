import Foundation
import LinuxIO
import LockProtocol

/// The `locksim` stdin command language: one command per line, answered with lines that start
/// with `ok` or `error`, so scripts can drive fault injection while a host is connected.
public struct SimulatorConsole: Sendable {
    public let server: SimulatorServer

    public init(server: SimulatorServer) { self.server = server }

    /// Reads commands from standard input on a thread of its own (`locksim-console`), printing
    /// each answer, until the input ends; the locks keep being served after that.
    public func serveStandardInput() {
        Thread.detachNewThread {
            Realtime.nameCurrentThread("locksim-console")
            while let line = readLine() {
                if let answer = execute(line) {
                    print(answer)
                    fflush(nil)
                }
            }
        }
    }

    /// Each command with what it does, for `locksim --help` and docs/simulator.md.
    public static let commands: [(usage: String, summary: String)] = [
        ("scenario I|all NAME", "switch lock I (or every lock) to scenario NAME from now on"),
        ("unplug I", "pull lock I's cable: its pty closes, a client sees EIO/POLLHUP"),
        ("replug I", "plug it back in on a new pty (the link is repointed); prints the path"),
        ("hang I [mid-frame]", "lock I stops answering entirely (the link stays up); mid-frame: after half of its next frame"),
        ("resume I", "lock I answers again"),
        ("noise I RATE", "flip one bit in RATE of the bytes on lock I's line, both ways (e.g. 0.001); 0 stops it"),
        ("flood I FRAMES_PER_S|off", "lock I floods the host with FAULT_RAISED events, ignoring LDP/1's limits"),
        ("actuate I lock|unlock", "a user actuation of lock I"),
        ("finger I", "a finger on lock I's sensor"),
        ("tamper I", "lock I's tamper switch trips (TAMPER event, fault 0x0701)"),
        ("door I open|closed", "open or close the door at lock I; open, the motor self-test is refused (NAK REFUSED)"),
        ("status", "one line per lock: index, path, scenario, bolt, battery mV, online/offline/hung"),
        ("help", "the commands and scenarios on one line"),
    ]

    /// Runs one command line; returns its answer (one line, or one per lock for `status`), or
    /// nil for a blank line or a comment.
    public func execute(_ line: String) -> String? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let verb = words.first, !verb.hasPrefix("#") else { return nil }
        let arguments = Array(words.dropFirst())
        do throws(ConsoleError) {
            return try run(verb.lowercased(), arguments)
        } catch {
            return "error " + error.message
        }
    }

    private func run(_ verb: String, _ arguments: [String]) throws(ConsoleError) -> String {
        switch verb {
        case "help":
            return "ok commands: scenario I|all NAME; unplug I; replug I; hang I [mid-frame]; resume I; noise I RATE; "
                + "flood I FRAMES_PER_S|off; actuate I lock|unlock; "
                + "finger I; tamper I; door I open|closed; status; help — scenarios: " + Scenario.allCases.map(\.rawValue).joined(separator: " ")
        case "status":
            try expect(arguments, count: 0, usage: "status")
            return try call { () throws(SimulatorError) in try server.snapshots() }.map(Self.line).joined(separator: "\n")
        case "scenario":
            try expect(arguments, count: 2, usage: "scenario I|all NAME")
            guard let scenario = Scenario(rawValue: arguments[1]) else {
                throw ConsoleError(SimulatorError.unknownScenario(arguments[1]).description)
            }
            if arguments[0].lowercased() == "all" {
                try call { () throws(SimulatorError) in try server.setScenario(scenario) }
                return "ok scenario all \(scenario)"
            }
            let index = try lockIndex(arguments[0])
            try call { () throws(SimulatorError) in try server.setScenario(scenario, lock: index) }
            return "ok scenario \(index) \(scenario)"
        case "unplug":
            let index = try singleIndex(arguments, usage: "unplug I")
            try call { () throws(SimulatorError) in try server.unplug(lock: index) }
            return "ok unplug \(index)"
        case "replug":
            let index = try singleIndex(arguments, usage: "replug I")
            let path = try call { () throws(SimulatorError) in try server.replug(lock: index) }
            let pty = try call { () throws(SimulatorError) in try server.snapshots() }[index].ptyPath ?? path
            return "ok replug \(index) \(path)" + (pty == path ? "" : " pty=\(pty)")
        case "hang":
            guard arguments.count == 1 || (arguments.count == 2 && arguments[1].lowercased() == "mid-frame") else {
                throw ConsoleError("usage: hang I [mid-frame]")
            }
            let index = try lockIndex(arguments[0])
            if arguments.count == 2 {
                try call { () throws(SimulatorError) in try server.hangMidFrame(lock: index) }
                return "ok hang \(index) mid-frame"
            }
            try call { () throws(SimulatorError) in try server.hang(lock: index) }
            return "ok hang \(index)"
        case "noise":
            try expect(arguments, count: 2, usage: "noise I RATE")
            let index = try lockIndex(arguments[0])
            guard let rate = Double(arguments[1]), rate >= 0, rate <= 1 else {
                throw ConsoleError("RATE is a fraction of bytes between 0 and 1, e.g. 0.001 for one in a thousand, not '\(arguments[1])'")
            }
            try call { () throws(SimulatorError) in try server.setBitErrorRate(rate, lock: index) }
            return "ok noise \(index) \(rate)"
        case "flood":
            try expect(arguments, count: 2, usage: "flood I FRAMES_PER_S|off")
            let index = try lockIndex(arguments[0])
            let rate: Double
            if arguments[1].lowercased() == "off" {
                rate = 0
            } else {
                guard let value = Double(arguments[1]), value >= 0, value <= 1_000_000 else {
                    throw ConsoleError("FRAMES_PER_S is a rate up to 1000000, or off, not '\(arguments[1])'")
                }
                rate = value
            }
            try call { () throws(SimulatorError) in try server.flood(framesPerSecond: rate, lock: index) }
            return "ok flood \(index) \(rate == 0 ? "off" : String(rate))"
        case "resume":
            let index = try singleIndex(arguments, usage: "resume I")
            try call { () throws(SimulatorError) in try server.resume(lock: index) }
            return "ok resume \(index)"
        case "actuate":
            try expect(arguments, count: 2, usage: "actuate I lock|unlock")
            let index = try lockIndex(arguments[0])
            let direction: Direction
            switch arguments[1].lowercased() {
            case "lock": direction = .lock
            case "unlock": direction = .unlock
            default: throw ConsoleError("direction must be lock or unlock, not '\(arguments[1])'")
            }
            guard let number = try call({ () throws(SimulatorError) in try server.trigger(actuation: direction, lock: index) }) else {
                throw ConsoleError("lock \(index) is busy with an actuation or a self-test; try again shortly")
            }
            return "ok actuate \(index) \(direction) actuation=\(number)"
        case "finger":
            let index = try singleIndex(arguments, usage: "finger I")
            let answered = try call { () throws(SimulatorError) in try server.touchFinger(lock: index) }
            return "ok finger \(index)" + (answered ? "" : " sensor-not-responding")
        case "tamper":
            let index = try singleIndex(arguments, usage: "tamper I")
            try call { () throws(SimulatorError) in try server.raiseTamper(lock: index) }
            return "ok tamper \(index)"
        case "door":
            try expect(arguments, count: 2, usage: "door I open|closed")
            let index = try lockIndex(arguments[0])
            let open: Bool
            switch arguments[1].lowercased() {
            case "open": open = true
            case "closed", "close": open = false
            default: throw ConsoleError("the door is open or closed, not '\(arguments[1])'")
            }
            try call { () throws(SimulatorError) in try server.setDoor(open: open, lock: index) }
            return "ok door \(index) \(open ? "open" : "closed")"
        default:
            throw ConsoleError("unknown command '\(verb)'; try help")
        }
    }

    /// `ok 0 /tmp/locks/lock0 motor-stall bolt=intermediate battery_mv=6080 commands=0 online`
    static func line(_ s: LockSnapshot) -> String {
        let state = !s.isOnline ? "offline" : s.isHung ? "hung" : "online"
        return "ok \(s.index) \(s.devicePath) \(s.scenario) bolt=\(s.bolt) battery_mv=\(s.batteryMillivolts) "
            + "commands=\(s.counters.commandsAccepted) \(state)"
    }

    private func singleIndex(_ arguments: [String], usage: String) throws(ConsoleError) -> Int {
        try expect(arguments, count: 1, usage: usage)
        return try lockIndex(arguments[0])
    }

    private func lockIndex(_ text: String) throws(ConsoleError) -> Int {
        guard let index = Int(text), index >= 0, index < server.count else {
            throw ConsoleError("no lock '\(text)': this simulator serves locks 0…\(server.count - 1)")
        }
        return index
    }

    private func expect(_ arguments: [String], count: Int, usage: String) throws(ConsoleError) {
        guard arguments.count == count else { throw ConsoleError("usage: \(usage)") }
    }

    private func call<T>(_ body: () throws(SimulatorError) -> T) throws(ConsoleError) -> T {
        do throws(SimulatorError) {
            return try body()
        } catch {
            throw ConsoleError(error.description)
        }
    }
}

private struct ConsoleError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
