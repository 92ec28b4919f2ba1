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

    /// tuya-mcu.md §6.1: the layout for a PID no file lists is the standard one of category ms,
    /// with the reason; a listed PID gets its own layout and no reason.
    @Test func anUnknownPIDFallsBackToTheStandardLayoutOfCategoryMs() throws {
        let set = TuyaSchemaSet.builtIn()
        let known = try #require(set.layout(pid: "lockdiagsimstd01"))
        #expect(known.schema.product == "wifi-lock")
        #expect(known.assumedBecause == nil)
        let unknown = try #require(set.layout(pid: "0123abcd4567efgh"))
        #expect(unknown.schema.product == "standard-ms")
        #expect(unknown.schema.category == TuyaSchemaSet.assumedCategory)
        #expect(unknown.assumedBecause == "product id 0123abcd4567efgh not known")
        let unheard = try #require(set.layout(pid: nil))
        #expect(unheard.schema.product == "standard-ms")
        #expect(unheard.assumedBecause?.hasPrefix("no product id heard yet") == true)
        // Without a standard layout loaded there is nothing to assume.
        var bare = TuyaSchemaSet()
        bare.add(known.schema)
        #expect(bare.layout(pid: "0123abcd4567efgh") == nil)
        #expect(bare.layout(pid: "lockdiagsimstd01")?.schema.product == "wifi-lock")
    }

    /// tuya-mcu.md §6.1: the standard layout claims no more than Tuya's standard lock DPs, and
    /// applies by category, never by PID.
    @Test func theStandardLayoutHoldsOnlyStandardDPs() throws {
        let standard = try #require(TuyaSchemaSet.builtIn().standard(category: "ms"))
        #expect(standard.pids.isEmpty)
        let standardCodes: [Int: (String, String)] = [
            1: ("unlock_fingerprint", "value"), 2: ("unlock_password", "value"), 3: ("unlock_temporary", "value"),
            4: ("unlock_dynamic", "value"), 5: ("unlock_card", "value"), 6: ("unlock_face", "value"), 7: ("unlock_key", "value"),
            8: ("alarm_lock", "enum"), 11: ("battery_state", "enum"), 12: ("residual_electricity", "value"), 15: ("unlock_app", "value"),
        ]
        for dp in standard.dps {
            let expected = try #require(standardCodes[dp.id], "DP \(dp.id) \(dp.code) is not in the standard set")
            #expect(expected.0 == dp.code && expected.1 == dp.type, "DP \(dp.id): \(dp.code) \(dp.type)")
        }
        var withPIDs = standard
        withPIDs.pids = ["abc"]
        #expect(withPIDs.problems().contains { $0.contains("leave 'pids' empty") })
        withPIDs.pids = []
        withPIDs.category = nil
        #expect(withPIDs.problems().contains { $0.contains("names its 'category'") })
    }

    /// tuya-mcu.md §6: a layout that `extends` the standard one gets its DPs, alarms, bands and
    /// category, plus its own; one whose base is not loaded is refused, naming what is.
    @Test func aLayoutExtendsTheStandardOne() throws {
        let set = TuyaSchemaSet.builtIn()
        let wifi = try #require(set.schema(product: "wifi-lock"))
        let standard = try #require(set.standard(category: "ms"))
        #expect(wifi.dps.map(\.id) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 19])
        #expect(wifi.category == "ms")
        #expect(wifi.alarms == standard.alarms)
        #expect(wifi.batteryBands == standard.batteryBands)
        #expect(wifi.standard == nil)

        let dir = try TemporaryDirectory(prefix: "schema")
        defer { dir.remove() }
        let text = #"{"product":"mine","name":"x","extends":"no-such-base","pids":["p1"],"dps":[],"alarms":{}}"#
        try text.write(toFile: dir.path + "/mine.json", atomically: true, encoding: .utf8)
        var bare = TuyaSchemaSet()
        #expect {
            try bare.load(directory: dir.path)
        } throws: { error in "\(error)".contains("it extends 'no-such-base', which is not loaded") }
        // Over the built-ins, a file may extend the standard layout and replace one of its DPs.
        let mine = #"{"product":"mine","name":"x","extends":"standard-ms","pids":["p1"],"dps":[{"id":12,"code":"residual_electricity","type":"value","role":"state"}],"alarms":{"pry":"motor_stall"}}"#
        try mine.write(toFile: dir.path + "/mine.json", atomically: true, encoding: .utf8)
        var loaded = TuyaSchemaSet.builtIn()
        try loaded.load(directory: dir.path)
        let resolved = try #require(loaded.schema(pid: "p1"))
        #expect(resolved.dp(12)?.role == .state)
        #expect(resolved.dp(11)?.role == .batteryBand)
        #expect(resolved.alarms["pry"] == "motor_stall")
        #expect(resolved.alarms["shock"] == "tamper")
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
