import LinuxIO
import LockProtocol
import Synchronization

/// One served lock as the server thread last saw it.
public struct LockSnapshot: Sendable, Equatable {
    public var index: Int
    /// What a client opens: the stable link when a link directory is configured, else the pty.
    public var devicePath: String
    /// The current pty slave, nil while unplugged.
    public var ptyPath: String?
    public var serial: String
    public var scenario: Scenario
    public var bolt: BoltState
    public var batteryMillivolts: UInt16
    public var batteryPercent: UInt8
    public var activeFaults: UInt8
    /// Plugged in (its pty open).
    public var isOnline: Bool
    public var isHung: Bool
    public var counters: SimulatedLockCounters
    /// Device→host bytes lost because the pty would not take them (no reader, or one too slow).
    public var outputBytesDropped: UInt64
    /// Faults injected by hand (bit errors, flood).
    public var injected: InjectedFaultState = InjectedFaultState(bitErrorRate: 0, floodFramesPerSecond: 0)
}

/// Serves simulated locks on pseudo-terminals from one dedicated thread (epoll, with timeouts
/// from each lock's `nextWakeNanoseconds`). Every control call is carried out by that thread,
/// in order, and returns once it has been: after `unplug` returns, the client already sees the
/// hang-up.
public final class SimulatorServer: Sendable {
    public let configurations: [SimulatorConfiguration]
    /// Where `lock<N>` symlinks are kept, if anywhere.
    public let linkDirectory: String?
    private let shared: ServerShared
    private let thread = Mutex<JoinableThread?>(nil)

    /// How long a control call waits for the server thread before reporting it stuck.
    static let commandTimeoutMilliseconds: Int32 = 5000

    public init(configurations: [SimulatorConfiguration], linkDirectory: String? = nil) throws(SimulatorError) {
        self.configurations = configurations
        self.linkDirectory = linkDirectory
        do throws(SystemError) {
            shared = try ServerShared(count: configurations.count)
        } catch {
            throw .system(error)
        }
    }

    deinit { stop() }

    public var count: Int { configurations.count }

    /// Opens one pty per lock, creates the links and starts the server thread. The device
    /// paths are valid when this returns.
    public func start() throws(SimulatorError) {
        guard shared.control.withLock({ !$0.running }) else { return }
        let links = linkDirectory.map { DeviceLinks(directory: $0) }
        var ptys = [PseudoTerminal?]()
        var listeners = [Int32]()
        var modulePtys = [PseudoTerminal?]()
        func closeAll() {
            for pty in ptys { pty?.close() }
            for pty in modulePtys { pty?.close() }
            for (fd, configuration) in zip(listeners, self.configurations) where fd >= 0 {
                if let ble = configuration.ble { GATTPeripheral.closeListener(fd, ble) }
            }
        }
        var radioPaths = [String?]()
        // SystemError → SimulatorError, for the calls below that throw the former.
        func system<T>(_ body: () throws(SystemError) -> T) throws(SimulatorError) -> T {
            do { return try body() } catch { throw .system(error) }
        }
        do throws(SimulatorError) {
            if configurations.contains(where: { $0.ble == nil && $0.ttyPath == nil }) { try system { () throws(SystemError) in try links?.prepare() } }
            for (index, configuration) in configurations.enumerated() {
                if let ble = configuration.ble {
                    let opened = try GATTPeripheral.openListener(ble, values: configuration.gattValues)
                    ptys.append(nil)
                    listeners.append(opened.fd)
                    radioPaths.append(opened.path)
                    modulePtys.append(nil)
                    continue
                }
                radioPaths.append(nil)
                if let ttyPath = configuration.ttyPath {
                    // Opened here only to report a wrong path at start; the loop opens its own.
                    FileIO.close(try system { () throws(SystemError) in try TTYLine.open(ttyPath) })
                    ptys.append(nil)
                    listeners.append(-1)
                    modulePtys.append(nil)
                } else {
                    let pty = try system { () throws(SystemError) in try PseudoTerminal.open() }
                    ptys.append(pty)
                    listeners.append(-1)
                    try system { () throws(SystemError) in try links?.point(lock: index, at: pty.slavePath) }
                    if configuration.tuya != nil && configuration.tuyaTap {
                        let modulePty = try system { () throws(SystemError) in try PseudoTerminal.open() }
                        modulePtys.append(modulePty)
                        try system { () throws(SystemError) in try links?.point(module: index, at: modulePty.slavePath) }
                    } else {
                        modulePtys.append(nil)
                    }
                }
            }
        } catch {
            closeAll()
            if let links { for index in configurations.indices { links.remove(lock: index) } }
            throw error
        }
        let paths = self.configurations.indices.map { i in
            radioPaths[i] ?? self.configurations[i].ttyPath ?? links?.path(forLock: i) ?? ptys[i]!.slavePath
        }
        let modulePaths: [String?] = modulePtys.indices.map { i in modulePtys[i].map { links?.path(forModule: i) ?? $0.slavePath } }
        shared.control.withLock { state in
            state.running = true
            state.devicePaths = paths
            state.modulePaths = modulePaths
        }
        let configurations = configurations
        let shared = shared
        let opened = ptys
        let listening = listeners
        let openedModules = modulePtys
        do throws(SystemError) {
            let thread = try JoinableThread(name: "locksim-pty") {
                ServerLoop(configurations: configurations, ptys: opened, listeners: listening, links: links, shared: shared,
                           modulePtys: openedModules).run()
            }
            self.thread.withLock { $0 = thread }
        } catch {
            shared.control.withLock { $0.running = false }
            closeAll()
            throw .system(error)
        }
    }

    /// Stops the thread, closes every pty (clients see a hang-up) and removes the links.
    /// Returns when all that is done; calling it again does nothing.
    public func stop() {
        shared.control.withLock { $0.running = false }
        shared.doorbell.ring()
        let thread = self.thread.withLock { t in
            defer { t = nil }
            return t
        }
        thread?.join()
    }

    public var isRunning: Bool { shared.control.withLock { $0.running } }

    /// The path a client opens for each lock, in lock order.
    public var devicePaths: [String] { shared.control.withLock { $0.devicePaths } }

    /// For a Tuya tap (`tuyaTap`), the module side's line; `devicePaths` is then the MCU side's.
    public var modulePaths: [String?] { shared.control.withLock { $0.modulePaths } }

    public func devicePath(lock index: Int) throws(SimulatorError) -> String {
        try checked(index)
        return shared.control.withLock { $0.devicePaths[index] }
    }

    // MARK: Control

    /// Pulls the cable: the pty is closed, so a client sees EIO/POLLHUP; the link disappears. A
    /// BLE lock goes out of range: its connection drops and its socket disappears.
    public func unplug(lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.unplug(index))
    }

    /// Plugs the cable back in on a new pty; the link, if any, is repointed. Returns the
    /// device path (unchanged when a link directory is configured).
    @discardableResult
    public func replug(lock index: Int) throws(SimulatorError) -> String {
        try checked(index)
        _ = try submit(.replug(index))
        return try devicePath(lock: index)
    }

    /// Changes one lock's scenario, or every lock's when `index` is nil.
    public func setScenario(_ scenario: Scenario, lock index: Int? = nil) throws(SimulatorError) {
        if let index { try checked(index) }
        _ = try submit(.setScenario(scenario, lock: index))
    }

    /// The lock stops answering entirely (its link stays up).
    public func hang(lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.hang(index))
    }

    public func resume(lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.resume(index))
    }

    /// The lock hangs in the middle of its next frame (half of it sent); `resume` recovers it.
    public func hangMidFrame(lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.hangMidFrame(index))
    }

    /// Flips bits at `rate` per byte on the lock's line, both ways; 0 stops it.
    public func setBitErrorRate(_ rate: Double, lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.bitErrors(index, rate))
    }

    /// The lock floods the host with events at `framesPerSecond`; 0 stops it.
    public func flood(framesPerSecond: Double, lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.flood(index, framesPerSecond))
    }

    /// A user actuation; returns its number, or nil when the lock is busy.
    @discardableResult
    public func trigger(actuation direction: Direction, lock index: Int) throws(SimulatorError) -> UInt16? {
        try checked(index)
        guard case .actuation(let number) = try submit(.actuate(index, direction)) else { return nil }
        return number
    }

    /// A finger on the sensor; false when the sensor does not answer.
    @discardableResult
    public func touchFinger(lock index: Int) throws(SimulatorError) -> Bool {
        try checked(index)
        guard case .accepted(let answered) = try submit(.touchFinger(index)) else { return false }
        return answered
    }

    public func raiseTamper(_ cause: TamperCause = .forcedBolt, lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.tamper(index, cause))
    }

    /// Opens or closes the door at lock `index` (its door sensor; §6.2).
    public func setDoor(open: Bool, lock index: Int) throws(SimulatorError) {
        try checked(index)
        _ = try submit(.door(index, open: open))
    }

    /// Every lock's state now.
    public func snapshots() throws(SimulatorError) -> [LockSnapshot] {
        guard case .snapshots(let list) = try submit(.snapshot) else { return [] }
        return list
    }

    private func checked(_ index: Int) throws(SimulatorError) {
        guard configurations.indices.contains(index) else { throw .noSuchLock(index, count: count) }
    }

    private func submit(_ command: ServerCommand) throws(SimulatorError) -> CommandOutcome {
        let completion: Completion<CommandOutcome>
        do throws(SystemError) {
            completion = try Completion()
        } catch {
            throw .system(error)
        }
        let accepted = shared.control.withLock { state in
            guard state.running else { return false }
            state.commands.append(PendingCommand(command: command, completion: completion))
            return true
        }
        guard accepted else { throw .notRunning }
        shared.doorbell.ring()
        guard let outcome = completion.wait(timeoutMilliseconds: Self.commandTimeoutMilliseconds) else {
            throw .timedOut(String(describing: command))
        }
        if case .failed(let error) = outcome { throw error }
        return outcome
    }
}

/// A control call for the server thread.
enum ServerCommand: Sendable {
    case setScenario(Scenario, lock: Int?)
    case hang(Int)
    case resume(Int)
    case hangMidFrame(Int)
    case bitErrors(Int, Double)
    case flood(Int, Double)
    case actuate(Int, Direction)
    case touchFinger(Int)
    case tamper(Int, TamperCause)
    case door(Int, open: Bool)
    case unplug(Int)
    case replug(Int)
    case snapshot
}

enum CommandOutcome: Sendable {
    case done
    case actuation(UInt16?)
    case accepted(Bool)
    case snapshots([LockSnapshot])
    case failed(SimulatorError)
}

struct PendingCommand: Sendable {
    let command: ServerCommand
    let completion: Completion<CommandOutcome>
}

/// What callers and the server thread share: the command queue behind a mutex, and the
/// doorbell that wakes the thread's epoll when something is queued.
final class ServerShared: Sendable {
    struct State {
        var running = false
        var commands: [PendingCommand] = []
        var devicePaths: [String]
        var modulePaths: [String?] = []
    }

    let control: Mutex<State>
    let doorbell: EventDoorbell

    init(count: Int) throws(SystemError) {
        control = Mutex(State(devicePaths: Array(repeating: "", count: count)))
        doorbell = try EventDoorbell()
    }

    deinit { doorbell.close() }
}
