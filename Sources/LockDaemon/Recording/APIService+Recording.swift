import JSONRPC
import LockProtocol
import PcapNG
import LockDiagAPI

extension APIService {
    /// `record.start` and `record.stop` (docs/socket-api.md): technician methods, audited.
    func registerRecording(into table: inout RPCMethodTable) {
        guard let taps = trafficTaps else { return }
        table.register(APIMethod.recordStart) { call in
            let index: Int
            do { index = try hub.resolve(try call.decodeParams(as: DeviceParams.self).device) } catch let error as HubError {
                throw RPCError(resolving: error)
            }
            // A USB or BLE lock's link is recorded as usbmon or HCI ACL/ATT records, as --record does.
            let encapsulation = LinkEncapsulation(word: taps.ring.linkEncapsulations.load(at: index))
            guard let (interface, gattOnly) = hub.recordedInterface(of: index, encapsulation: encapsulation) else {
                throw RPCError.unknownDevice("\(index)")
            }
            if gattOnly {
                throw RPCError.deviceRefused(hub.deviceID(index), reason: "\(hub.deviceID(index)) is a BLE lock with only the standard GATT services: "
                    + "its link carries no byte stream to record — record a lock that speaks LDP/1 (serial, USB, BLE with the LDP service) or Tuya")
            }
            let id: Int
            do { id = try taps.start(device: index, connection: call.connection, encapsulation: encapsulation) } catch {
                throw RPCError(code: RPCError.Code.internalError, message: "cannot start the recording thread: \(error) — retry, or record with lockdiagd --record")
            }
            call.connection.setReceivesNotifications(true)
            // The lock was identified before the recording began: ask it again, for real, so the
            // file holds a genuine IDENTIFY exchange — what names the lock in Wireshark and brings
            // it online in a replay (docs/recording.md). Its answer is handled like any IDENTIFY.
            if interface.linkType != Int(TrafficRecorder.tuyaLinkType.rawValue) {
                Task { _ = await hub.command(.identify, to: index) }
            }
            return try JSONValue(encoding: RecordStarted(recording: id, device: hub.deviceID(index), application: taps.application,
                                                         hardware: taps.hardware, os: taps.os, comment: TrafficRecorder.sensitiveNotice,
                                                         interface: interface))
        }
        table.register(APIMethod.recordStop) { call in
            let params = try call.decodeParams(as: RecordStopParams.self)
            guard let stopped = taps.stop(params.recording, connection: call.connection.id) else {
                throw RPCError(code: RPCError.Code.invalidParams,
                               message: "Invalid params: this connection runs no recording \(params.recording) — give the id record.start returned on the same connection",
                               data: ["field": "recording"])
            }
            updateListening(call.connection)
            return try JSONValue(encoding: stopped)
        }
    }
}
