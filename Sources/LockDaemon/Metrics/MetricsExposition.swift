import LockDiagAPI

/// Renders a `MetricsSnapshot` in the Prometheus text exposition format, version 0.0.4
/// (prometheus.io, "Exposition formats": `# HELP`/`# TYPE` lines, one sample per line, label
/// values escaped `\\`, `\"`, `\n`; counters end in `_total`; base units: volts, amperes,
/// seconds, ratios). Every label set is bounded: one series per lock (at most the daemon's
/// device slots), per catalog fault code and status, or per fixed bucket; no label ever holds
/// a reading.
public enum MetricsExposition {
    /// The Content-Type of this format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Upper bounds (µs) of the poll-loop lateness histogram's buckets. Each lines up with a
    /// step of `LatenessHistogram`'s tiers, so the cumulative counts are exact at its resolution.
    static let latenessBoundsMicroseconds: [UInt64] = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000]

    public static func render(_ snapshot: MetricsSnapshot) -> String {
        var out = Writer()
        out.family("lockdiag_build_info", .gauge, "lockdiagd's version, as a label; always 1.")
        out.sample("lockdiag_build_info", [("version", snapshot.version)], 1)
        out.family("lockdiag_daemon_uptime_seconds", .gauge, "Seconds since lockdiagd started.")
        out.sample("lockdiag_daemon_uptime_seconds", [], snapshot.uptimeSeconds)

        let devices = snapshot.devices
        out.family("lockdiag_devices", .gauge, "Locks lockdiagd knows (configured or seen).")
        out.sample("lockdiag_devices", [], Double(devices.count))
        out.family("lockdiag_devices_online", .gauge, "Locks whose link is up and which answer.")
        out.sample("lockdiag_devices_online", [], Double(devices.filter(\.online).count))

        out.family("lockdiag_device_info", .gauge, "A lock's identity as labels (model and firmware once it identified itself); always 1.")
        for d in devices {
            out.sample("lockdiag_device_info", [("device", d.id), ("transport", d.transport), ("model", d.model ?? ""),
                                                ("firmware", d.firmware ?? "")], 1)
        }
        out.family("lockdiag_device_online", .gauge, "1 while the lock's link is up and it answers, else 0.")
        for d in devices { out.sample("lockdiag_device_online", [("device", d.id)], d.online ? 1 : 0) }

        out.family("lockdiag_battery_voltage_volts", .gauge, "Battery terminal voltage the lock last reported.")
        for d in devices { if let mv = d.batteryMillivolts { out.sample("lockdiag_battery_voltage_volts", [("device", d.id)], Double(mv) / 1000) } }
        out.family("lockdiag_battery_charge_ratio", .gauge, "Battery state of charge the lock last reported, 0 to 1.")
        for d in devices { if let p = d.batteryPercent { out.sample("lockdiag_battery_charge_ratio", [("device", d.id)], Double(p) / 100) } }

        out.family("lockdiag_motor_last_peak_current_amperes", .gauge, "Peak motor current (inrush included) of the lock's last analysed actuation.")
        for d in devices {
            if let a = d.lastActuation { out.sample("lockdiag_motor_last_peak_current_amperes", [("device", d.id)], Double(a.peakCurrentMilliamps) / 1000) }
        }
        out.family("lockdiag_motor_last_running_current_amperes", .gauge, "Running motor current of the lock's last analysed actuation.")
        for d in devices {
            if let a = d.lastActuation { out.sample("lockdiag_motor_last_running_current_amperes", [("device", d.id)], Double(a.runningCurrentMilliamps) / 1000) }
        }
        out.family("lockdiag_motor_last_actuation_duration_seconds", .gauge, "Motor-energised time of the lock's last analysed actuation.")
        for d in devices {
            if let a = d.lastActuation { out.sample("lockdiag_motor_last_actuation_duration_seconds", [("device", d.id)], Double(a.durationMilliseconds) / 1000) }
        }
        out.family("lockdiag_lock_actuations_total", .counter, "The lock's own lifetime actuation counter.")
        for d in devices { if let n = d.lifetimeActuations { out.sample("lockdiag_lock_actuations_total", [("device", d.id)], Double(n)) } }

        // Faults: per lock by status (three series each, zeros included, so a graph does not
        // gap), and fleet-wide by catalog code and status.
        out.family("lockdiag_device_faults", .gauge, "Faults of one lock by lifecycle status (pending, confirmed, healed).")
        for d in devices {
            for status in FaultStatus.allCases {
                out.sample("lockdiag_device_faults", [("device", d.id), ("status", status.rawValue)],
                           Double(d.faults.filter { $0.status == status }.count))
            }
        }
        out.family("lockdiag_faults", .gauge, "Locks with a fault, by catalog code and lifecycle status.")
        var byCode: [String: (name: String, counts: [FaultStatus: Int])] = [:]
        for d in devices {
            for f in d.faults { byCode[f.code, default: (f.name, [:])].counts[f.status, default: 0] += 1 }
        }
        for code in byCode.keys.sorted() {
            let entry = byCode[code]!
            for status in FaultStatus.allCases {
                out.sample("lockdiag_faults", [("code", code), ("name", entry.name), ("status", status.rawValue)], Double(entry.counts[status] ?? 0))
            }
        }

        let links: [(String, String, KeyPath<LinkStats, UInt64>)] = [
            ("lockdiag_link_requests_total", "Requests sent to the lock.", \.requests),
            ("lockdiag_link_frames_total", "Valid frames received from the lock.", \.frames),
            ("lockdiag_link_received_bytes_total", "Bytes received from the lock.", \.bytesIn),
            ("lockdiag_link_sent_bytes_total", "Bytes sent to the lock.", \.bytesOut),
            ("lockdiag_link_crc_errors_total", "Frames from the lock that failed their body CRC.", \.crcErrors),
            ("lockdiag_link_header_errors_total", "Frame headers from the lock that failed their CRC.", \.headerErrors),
            ("lockdiag_link_timeouts_total", "Requests the lock did not answer within 100 ms.", \.timeouts),
            ("lockdiag_link_naks_total", "Requests the lock refused with a NAK.", \.naks),
            ("lockdiag_link_decode_errors_total", "Frames with a good CRC whose payload was not a valid message.", \.decodeErrors),
            ("lockdiag_link_reconnects_total", "Times the link was reopened after it went away.", \.reconnects),
        ]
        for (name, help, field) in links {
            out.family(name, .counter, help)
            for d in devices { out.sample(name, [("device", d.id)], Double(d.link[keyPath: field])) }
        }

        let loop = snapshot.loop
        out.family("lockdiag_poll_rate_hertz", .gauge, "The poll loop's configured rate.")
        out.sample("lockdiag_poll_rate_hertz", [], Double(loop.pollHz))
        out.family("lockdiag_poll_cycles_total", .counter, "Poll-loop cycles since start.")
        out.sample("lockdiag_poll_cycles_total", [], Double(loop.cycles))
        out.family("lockdiag_poll_overruns_total", .counter, "Ticks the poll loop missed (a cycle or the scheduler took longer than a period).")
        out.sample("lockdiag_poll_overruns_total", [], Double(loop.overruns))
        out.family("lockdiag_poll_ring_dropped_total", .counter, "Records the poll loop dropped because the hub fell behind.")
        out.sample("lockdiag_poll_ring_dropped_total", [], Double(loop.ringDropped))
        out.family("lockdiag_poll_lateness_seconds", .histogram, "Poll-loop wake-up lateness (actual minus scheduled wake-up).")
        let h = loop.lateness
        for bound in latenessBoundsMicroseconds {
            var cumulative: UInt64 = 0
            for (index, n) in h.buckets.enumerated() where n > 0 && LatenessHistogram.upperEdge(of: index) <= bound { cumulative += n }
            out.sample("lockdiag_poll_lateness_seconds_bucket", [("le", Writer.number(Double(bound) / 1e6))], Double(cumulative))
        }
        out.sample("lockdiag_poll_lateness_seconds_bucket", [("le", "+Inf")], Double(h.count))
        out.sample("lockdiag_poll_lateness_seconds_sum", [], Double(h.sumMicroseconds) / 1e6)
        out.sample("lockdiag_poll_lateness_seconds_count", [], Double(h.count))
        out.family("lockdiag_poll_lateness_max_seconds", .gauge, "Largest poll-loop wake-up lateness since start.")
        out.sample("lockdiag_poll_lateness_max_seconds", [], Double(h.maxMicroseconds) / 1e6)
        return out.text
    }

    enum Kind: String { case gauge, counter, histogram }

    struct Writer {
        var text = ""

        mutating func family(_ name: String, _ kind: Kind, _ help: String) {
            text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " " + Self.number(value) + "\n"
        }

        /// Label values may hold anything a lock sends as its serial: escape `\`, `"` and newline.
        static func escapeLabel(_ value: String) -> String {
            var out = ""
            for c in value.unicodeScalars {
                switch c {
                case "\\": out += "\\\\"
                case "\"": out += "\\\""
                case "\n": out += "\\n"
                default: out.unicodeScalars.append(c)
                }
            }
            return out
        }

        static func escapeHelp(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        }

        /// Integers without a fraction, others in Swift's shortest round-trip form.
        static func number(_ value: Double) -> String {
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            return "\(value)"
        }
    }
}
