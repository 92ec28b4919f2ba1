@testable @_spi(Fuzzing) import LockDaemon
import Testing

/// The once-a-second link check (comm_crc_errors, response_timeout) and an unplug: a lock stops
/// answering the moment it is pulled, the host notices later.
@Suite struct LinkHealthTests {
    /// Found by the kernel lab (CI, vendor-bulk, replug 1): the requests sent between the unplug
    /// and libusb's LIBUSB_ERROR_NO_DEVICE timed out, the check ran in between and raised
    /// response_timeout, listed after the replug as a false fault. A torn last frame would do the
    /// same to comm_crc_errors.
    @Test func theLastMomentsBeforeAnUnplugAreNoLinkFault() throws {
        let rig = try HubRecordFeeder()
        rig.feed(.linkUp)
        rig.feed(.counters, Self.counters(requests: 10, frames: 10))
        // Pulled half a second ago: five requests unanswered, the last frame torn three times.
        rig.feed(.counters, Self.counters(requests: 18, frames: 13, timeouts: 5, crcErrors: 3))
        #expect(!rig.faultNames.contains("response_timeout"), "\(rig.faultNames)")
        #expect(!rig.faultNames.contains("comm_crc_errors"), "\(rig.faultNames)")
        rig.feed(.linkDown)
        #expect(!rig.faultNames.contains("response_timeout"), "\(rig.faultNames)")
        #expect(!rig.faultNames.contains("comm_crc_errors"), "\(rig.faultNames)")
    }

    /// The same errors on a link that is still up a second later are the lock's (or the
    /// cable's): raised one check later.
    @Test func errorsTheLinkOutlivesAreALinkFault() throws {
        let rig = try HubRecordFeeder()
        rig.feed(.linkUp)
        rig.feed(.counters, Self.counters(requests: 10, frames: 10))
        rig.feed(.counters, Self.counters(requests: 18, frames: 13, timeouts: 5, crcErrors: 3))
        rig.feed(.counters, Self.counters(requests: 26, frames: 13, timeouts: 13, crcErrors: 3))
        #expect(rig.faultNames.contains("response_timeout"), "\(rig.faultNames)")
        #expect(rig.faultNames.contains("comm_crc_errors"), "\(rig.faultNames)")
    }

    static func counters(requests: UInt64, frames: UInt64, timeouts: UInt64 = 0, crcErrors: UInt64 = 0) -> LinkCounters {
        var counters = LinkCounters()
        counters.requests = requests
        counters.decoder.frames = frames
        counters.timeouts = timeouts
        counters.decoder.crcErrors = crcErrors
        return counters
    }
}
