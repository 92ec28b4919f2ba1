#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The controller board's temperature sensor: indoor ambient plus the heat the motor and its
/// driver leave in the lock body, relaxing back with a first-order time constant.
struct ControllerThermal {
    /// A door lock indoors; the seeded spread makes locks in one run read differently.
    static let nominalAmbientCelsius = 21.5
    /// Heat capacity the sensor sees (board, driver, the nearby part of the housing): small
    /// enough that a burst of actuations shows as a few tenths of a degree, as on real boards.
    static let heatCapacityJoulesPerKelvin = 6.0
    /// Minutes-scale cooling of a small plastic-and-metal housing.
    static let timeConstantSeconds = 60.0

    let ambientCelsius: Double
    private(set) var celsius: Double

    init(ambientCelsius: Double) {
        self.ambientCelsius = ambientCelsius
        self.celsius = ambientCelsius
    }

    mutating func addHeat(joules: Double) {
        celsius += joules / Self.heatCapacityJoulesPerKelvin
    }

    mutating func relax(seconds: Double) {
        guard seconds > 0 else { return }
        celsius = ambientCelsius + (celsius - ambientCelsius) * exp(-seconds / Self.timeConstantSeconds)
    }

    var decicelsius: Int16 { Int16((celsius * 10).rounded()) }
}
