// The socket API shared by lockdiagd and its clients (docs/socket-api.md documents every method,
// field, unit and error). Swift names carry units in camel case; the JSON names are the
// snake_case ones in each CodingKeys, and those are the stable contract.

/// Method and notification names.
public enum APIMethod {
    public static let daemonInfo = "daemon.info"
    public static let daemonStats = "daemon.stats"
    public static let devicesList = "devices.list"
    public static let deviceStatus = "device.status"
    public static let faultsList = "faults.list"
    public static let faultsClear = "faults.clear"
    public static let testsRun = "tests.run"
    public static let telemetrySubscribe = "telemetry.subscribe"
    public static let telemetryUnsubscribe = "telemetry.unsubscribe"
    /// Moves the bolt (needs `confirm: true`): see `ActuateParams`.
    public static let deviceActuate = "device.actuate"

    /// Notification sent to telemetry subscribers.
    public static let telemetryNotification = "telemetry"

    public static let devicesSubscribe = "devices.subscribe"
    public static let devicesUnsubscribe = "devices.unsubscribe"
    /// Notification sent to `devices.subscribe` subscribers when a device is added, unplugged or forgotten.
    public static let devicesChangedNotification = "devices.changed"

    /// Every method lockdiagd answers (APIContractTests keeps this, the access policy and the docs in step).
    public static let all = [daemonInfo, daemonStats, devicesList, deviceStatus, faultsList, faultsClear, testsRun,
                             telemetrySubscribe, telemetryUnsubscribe, deviceActuate, faultsHistory, reportCreate, stationInfo,
                             devicesSubscribe, devicesUnsubscribe, recordStart, recordStop, deviceParts,
                             commissionStart, commissionStep, commissionFinish]
}

/// `{device}`: the parameter of every per-device method.
public struct DeviceParams: Codable, Sendable, Equatable {
    /// A device id from `devices.list` (the lock's serial number, else its path).
    public var device: String

    public init(device: String) { self.device = device }
}

/// `faults.list` parameters.
public struct FaultsListParams: Codable, Sendable, Equatable {
    /// Only this device's faults; all devices when absent.
    public var device: String?

    public init(device: String? = nil) { self.device = device }
}

/// Which self-test `tests.run` runs.
public enum TestKind: String, Codable, Sendable, CaseIterable {
    case motor, battery, fingerprint, all
}

/// `tests.run` parameters.
public struct TestsRunParams: Codable, Sendable, Equatable {
    public var device: String
    public var test: TestKind
    /// Must be true for a test that moves the bolt (`motor`, `all`): the caller confirms that
    /// nobody and nothing is in its way.
    public var confirm: Bool?

    public init(device: String, test: TestKind, confirm: Bool? = nil) {
        self.device = device
        self.test = test
        self.confirm = confirm
    }
}

/// The version lockdiagd and lockdiag report.
public enum LockDiagVersion {
    public static let current = "0.1.0"
}
