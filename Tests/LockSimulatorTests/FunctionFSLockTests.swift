import Foundation
import Glibc
@testable import LockSimulator
import LockDiagTestSupport
import Synchronization
import Testing

/// The blobs `locksim --functionfs` writes to ep0, read back the way the kernel's FunctionFS
/// parses them (include/uapi/linux/usb/functionfs.h): the kernel lab binds them to a real UDC,
/// these check them where there is no gadget stack.
@Suite struct FunctionFSLockTests {
    static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    @Test func descriptorsAreTheVendorBulkInterfaceOfUSBmd() {
        let blob = FunctionFSLock.descriptors
        #expect(Self.le32(blob, 0) == 3, "FUNCTIONFS_DESCRIPTORS_MAGIC_V2")
        #expect(Self.le32(blob, 4) == UInt32(blob.count), "the header's length is the blob's")
        #expect(Self.le32(blob, 8) == 3, "full- and high-speed descriptors")
        #expect(Self.le32(blob, 12) == 3 && Self.le32(blob, 16) == 3, "three descriptors per speed")
        // Walk each speed's descriptors by their bLength, as the kernel does.
        var offset = 20
        for packet in [64, 512] {
            let interface = Array(blob[offset..<offset + 9])
            #expect(interface[0] == 9 && interface[1] == 4)
            #expect(interface[4] == 2, "bNumEndpoints")
            #expect(Array(interface[5...7]) == [0xFF, 0x4C, 0x01], "class, subclass, protocol (usb.md §2.1)")
            offset += 9
            for address in [UInt8(0x01), 0x81] {
                let endpoint = Array(blob[offset..<offset + 7])
                #expect(endpoint[0] == 7 && endpoint[1] == 5 && endpoint[2] == address && endpoint[3] == 2, "bulk endpoint \(address)")
                #expect(Int(endpoint[4]) | Int(endpoint[5]) << 8 == packet)
                offset += 7
            }
        }
        #expect(offset == blob.count)
    }

    @Test func stringsHoldOneUSEnglishString() {
        let blob = FunctionFSLock.strings
        #expect(Self.le32(blob, 0) == 2, "FUNCTIONFS_STRINGS_MAGIC")
        #expect(Self.le32(blob, 4) == UInt32(blob.count))
        #expect(Self.le32(blob, 8) == 1 && Self.le32(blob, 12) == 1, "one string, one language")
        #expect(blob[16] == 0x09 && blob[17] == 0x04, "en-US")
        #expect(blob.last == 0 && blob.dropFirst(18).filter { $0 == 0 }.count == 1, "one NUL-terminated string")
    }

    /// The IN thread on a real descriptor: a pipe filled to the brim stands for a host that
    /// stopped reading (its IN transfer timed out). The answer waiting there is replaced by the
    /// next one, which is what the host reads once it reads again; the stale one never comes.
    /// (The kernel lab found a lock that, writing an uncollected answer, never read the next
    /// request.)
    @Test func aNewerAnswerReplacesOneTheHostNeverCollected() throws {
        FunctionFSLock.installInterruptHandler()
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[0]); close(ends[1]) }
        // Fill the pipe so the next write blocks.
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        var filler = 0
        let chunk = [UInt8](repeating: 0xEE, count: 4096)
        while true {
            let n = write(ends[1], chunk, chunk.count)
            if n <= 0 { break }
            filler += n
        }
        _ = fcntl(ends[1], F_SETFL, 0)
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        let endpoint = try FunctionFSLock.InEndpoint()
        let running = Atomic<Bool>(true)
        let writerEnd = ends[1]
        let done = Atomic<Bool>(false)
        let thread = Thread { endpoint.serve(writerEnd, running: running); done.store(true, ordering: .releasing) }
        thread.start()
        let stale: [UInt8] = Array("STALE-ANSWER".utf8), fresh: [UInt8] = Array("FRESH-ANSWER".utf8)
        endpoint.offer(.init(bytes: stale, packet: 512))
        // Give the writer time to block on the full pipe: the test waits for that state.
        #expect(TestSupport.wait(upTo: 5) { endpoint.isWriting })
        endpoint.offer(.init(bytes: fresh, packet: 512))
        // The host reads again: the filler, then the fresh answer alone.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        #expect(TestSupport.wait(upTo: 5) {
            let n = read(ends[0], &buffer, buffer.count)
            if n > 0 { received += buffer[0..<n] }
            return received.count >= filler + fresh.count
        })
        let tail = String(decoding: received.suffix(32).filter { $0 != 0xEE }, as: UTF8.self)
        #expect(received.count - filler == fresh.count, "after the filler: '\(tail)'")
        #expect(tail == "FRESH-ANSWER")
        running.store(false, ordering: .releasing)
        endpoint.offer(nil)
        #expect(TestSupport.wait(upTo: 5) { done.load(ordering: .acquiring) })
    }
}
