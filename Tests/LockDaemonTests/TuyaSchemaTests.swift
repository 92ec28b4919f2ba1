import Foundation
import LockDaemon
import LockDiagTestSupport
import LockProtocol
import Testing

/// The product layouts in firmware-specs/tuya/ are the source of truth: what is compiled in must
/// be them, and every fault they name must be in the catalog.
@Suite struct TuyaSchemaTests {
    static let directory = TestSupport.firmwareSpec("tuya").path

    @Test func compiledLayoutsMatchTheFiles() throws {
        var fromFiles = TuyaSchemaSet()
        try fromFiles.load(directory: Self.directory)
        let builtIn = TuyaSchemaSet.builtIn()
        #expect(builtIn.products == fromFiles.products, "run `make tuya-schemas` after editing firmware-specs/tuya/")
        for product in fromFiles.products {
            #expect(builtIn.schema(product: product) == fromFiles.schema(product: product), "\(product): run `make tuya-schemas`")
        }
    }

    @Test func everyLayoutIsUsableAndNamesOnlyCatalogFaults() throws {
        let set = TuyaSchemaSet.builtIn()
        #expect(set.products.contains("wifi-lock"))
        for product in set.products {
            let schema = try #require(set.schema(product: product))
            #expect(schema.problems().isEmpty, "\(product): \(schema.problems())")
            for fault in Array(schema.alarms.values) + Array((schema.batteryBands ?? [:]).values) {
                #expect(FaultCatalog.definition(named: fault) != nil, "\(product): \(fault)")
            }
        }
    }

    @Test func layoutsAreFoundByPIDAndDifferWhereProductsDo() throws {
        let set = TuyaSchemaSet.builtIn()
        #expect(set.schema(pid: "lockdiagsimstd01")?.product == "wifi-lock")
        #expect(set.schema(pid: "no-such-pid") == nil)
        // The Zen3515 lock has no percentage DP: the same protocol, another layout.
        let zen = try #require(set.schema(product: "zen3515-wifi-lock"))
        #expect(zen.dps.contains { $0.role == .batteryPercent } == false)
        #expect(set.schema(product: "wifi-lock")?.dp(12)?.code == "residual_electricity")
    }

    @Test func aBrokenFileIsRefusedWithItsProblems() throws {
        let dir = try TemporaryDirectory(prefix: "schema")
        defer { dir.remove() }
        let text = #"{"product":"x","name":"x","pids":[],"dps":[{"id":8,"code":"alarm_lock","type":"enum","role":"alarm"}],"alarms":{"pry":"no_such_fault"}}"#
        try text.write(toFile: dir.path + "/x.json", atomically: true, encoding: .utf8)
        var set = TuyaSchemaSet()
        #expect {
            try set.load(directory: dir.path)
        } throws: { error in
            let text = "\(error)"
            return text.contains("a DP with role alarm is an enum with a 'range'") && text.contains("no_such_fault") && text.contains("x.json")
        }
    }

    @Test func dialectsParse() throws {
        #expect(try DialectSpec.parse("tuya") == DialectSpec(kind: .tuya))
        #expect(try DialectSpec.parse("tuya-sniff:wifi-lock") == DialectSpec(kind: .tuyaSniff, product: "wifi-lock"))
        #expect(throws: DialectError.unknown("zigbee")) { try DialectSpec.parse("zigbee") }
        #expect(throws: DialectError.productWithLDP("ldp:x")) { try DialectSpec.parse("ldp:x") }
        #expect(throws: DialectError.emptyProduct("tuya:")) { try DialectSpec.parse("tuya:") }
    }
}
