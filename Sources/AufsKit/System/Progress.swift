// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Synchronization

/// Where a long step's output goes while it runs (a DKMS build, apt, a trial build): every byte
/// to the transcript, and a sign of life to the user: on a terminal one status line redrawn in
/// place (the step, the elapsed time, the last output), elsewhere (CI, Ansible, `tee`) a heartbeat
/// line every 30 s, so a log shows the run is alive without a line per compiler message.
public final class ProgressSink: Sendable {
    /// Where the status line or the heartbeat goes.
    public struct Display: Sendable {
        /// The destination is a terminal: redraw one line (`\r`, erase) instead of printing lines.
        public var isTerminal: Bool
        /// Writes text as given (no newline added).
        public var write: @Sendable (String) -> Void

        public init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void) {
            self.isTerminal = isTerminal
            self.write = write
        }

        /// Nothing shown (tests, dry runs that stream nothing).
        public static let none = Display(isTerminal: false, write: { _ in })
    }

    struct State {
        var label = ""
        var start = 0.0
        var lastBeat = 0.0
        var lastDraw = 0.0
        var lastLine = ""
        var partial: [UInt8] = []
        var drawn = false
        /// Said once per command: another package manager holds the dpkg lock.
        var toldWaiting = false
    }

    /// apt's words while it waits for the dpkg lock (`-o DPkg::Lock::Timeout`).
    static let waitingWords = ["Waiting for cache lock", "Could not get lock"]

    let display: Display
    let transcript: Transcript?
    /// Seconds between heartbeat lines off a terminal (AUFSCTL_HEARTBEAT_SECONDS, default 30).
    public let heartbeat: Double
    let state = Mutex(State())

    public init(display: Display, transcript: Transcript? = nil, heartbeat: Double? = nil) {
        self.display = display
        self.transcript = transcript
        self.heartbeat = heartbeat ?? ProgressSink.heartbeatFromEnvironment()
    }

    /// Nothing shown, nothing kept.
    public static let silent = ProgressSink(display: .none, heartbeat: 30)

    static func heartbeatFromEnvironment() -> Double {
        guard let v = getenv("AUFSCTL_HEARTBEAT_SECONDS").flatMap({ Double(String(cString: $0)) }), v > 0 else {
            return 30
        }
        return v
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Runs `argv` through `runner`, its output streamed here while a one-second ticker keeps the
    /// status line or the heartbeat going.
    public func stream(
        label: String, argv: [String], shown: String, environment: [String: String], runner: any CommandRunner
    ) async throws -> CommandResult {
        begin(label, command: shown)
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if !Task.isCancelled { self.tick() }
            }
        }
        defer { end() }
        let r: CommandResult
        do {
            r = try await runner.runStreaming(argv, environment: environment) { self.output($0) }
        } catch {
            ticker.cancel()
            _ = await ticker.value
            throw error
        }
        ticker.cancel()
        _ = await ticker.value
        transcript?.line("(exit \(r.status))")
        return r
    }

    /// A long command starts: `label` names the step (`[6/9] dkms build aufs/6.1 -k KVER`).
    public func begin(_ label: String, command: String) {
        let t = ProgressSink.now()
        state.withLock { $0 = State(label: label, start: t, lastBeat: t, lastDraw: 0) }
        transcript?.line("$ " + command)
    }

    /// Output of the command, as it arrives.
    public func output(_ bytes: [UInt8]) {
        transcript?.write(bytes)
        let (draw, notice): (String?, String?) = state.withLock { s in
            var notice: String?
            for b in bytes {
                if b == 10 || b == 13 {
                    let line = ProgressSink.printable(s.partial)
                    if !line.isEmpty { s.lastLine = line }
                    if !s.toldWaiting, ProgressSink.waitingWords.contains(where: { line.contains($0) }) {
                        s.toldWaiting = true
                        notice =
                            (s.drawn ? "\r\u{1B}[K" : "") + "      waiting for another package manager to "
                            + "finish (up to \(Int(AptLock.timeout / 60)) min): \(line)\n"
                    }
                    s.partial = []
                } else if s.partial.count < 400 {
                    s.partial.append(b)
                }
            }
            // dkms's dots (and any line still being written) count as the last output too.
            let pending = ProgressSink.printable(s.partial)
            if !pending.isEmpty { s.lastLine = pending }
            return (display.isTerminal ? redraw(&s, force: false) : nil, notice)
        }
        if let notice { display.write(notice) }
        if let draw { display.write(draw) }
    }

    /// A line for the user (and the transcript) between commands.
    public func note(_ line: String) {
        let clear = state.withLock { s -> Bool in
            defer { s.drawn = false }
            return s.drawn
        }
        display.write((clear ? "\r\u{1B}[K" : "") + line + "\n")
        transcript?.line(line)
    }

    /// Called about once a second while the command runs.
    public func tick() {
        let out: String? = state.withLock { s in
            let t = ProgressSink.now()
            guard !s.label.isEmpty || s.start > 0 else { return nil }
            if display.isTerminal { return redraw(&s, force: true) }
            guard t - s.lastBeat >= heartbeat else { return nil }
            s.lastBeat = t
            let last = s.lastLine.isEmpty ? "no output yet" : "last output: " + s.lastLine
            return "      still running after \(Int(t - s.start))s: \(last)\n"
        }
        if let out {
            display.write(out)
            if !display.isTerminal { transcript?.line(out.trimmingBlanks) }
        }
    }

    /// The command ended: the status line is erased (the step's result line follows).
    public func end() {
        let clear = state.withLock { s -> Bool in
            defer { s = State() }
            return s.drawn
        }
        if clear { display.write("\r\u{1B}[K") }
    }

    /// The status line: `[6/9] dkms build ... 42s  last output`, cut to 100 columns.
    func redraw(_ s: inout State, force: Bool) -> String? {
        let t = ProgressSink.now()
        guard force || t - s.lastDraw >= 0.25 else { return nil }
        s.lastDraw = t
        s.drawn = true
        let text = "\(s.label) \(Int(t - s.start))s  \(s.lastLine)"
        return "\r\u{1B}[K" + String(text.prefix(100))
    }

    /// A line for display: control characters dropped, blanks trimmed, at most 120 characters.
    static func printable(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.filter { $0 >= 0x20 && $0 != 0x7f }, as: UTF8.self).trimmingBlanks
        return text.count > 120 ? String(text.suffix(120)) : text
    }
}

/// A plain transcript of every install under /var/log/aufsctl/ (as apt keeps term.log): the
/// lines the run printed and every byte its commands wrote. `install.log` is rotated at 1 MiB to
/// `install.log.1` ... `.5` when a run starts (hand-written: logrotate is not on every host,
/// and the run knows when it starts).
public final class Transcript: Sendable {
    public static let directory = "/var/log/aufsctl"
    static let limit = 1 << 20
    static let keep = 5
    let fd: Int32
    /// The file as named in the root (`/var/log/aufsctl/install.log`).
    public let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens (after rotating) `name` under the root's /var/log/aufsctl, made root's 0750 when
    /// missing. nil, with the reason, when it cannot be kept (the run goes on without it).
    public static func open(root: HostRoot, name: String = "install.log") -> Result<Transcript, AufsError> {
        let dir = root.resolve(directory)
        if mkdir(root.resolve("/var/log"), 0o755) != 0 && errno != EEXIST {
            return .failure(AufsError("cannot create /var/log: \(SysErrno(errno))"))
        }
        if mkdir(dir, 0o750) != 0 && errno != EEXIST {
            return .failure(AufsError("cannot create \(directory): \(SysErrno(errno))"))
        }
        // Another user's directory (or a link planted there) would let them swap the file.
        var st = stat()
        guard lstat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid(), st.st_mode & 0o022 == 0
        else {
            return .failure(AufsError("\(directory) is not a directory of uid \(geteuid()) that only it may write"))
        }
        let file = dir + "/" + name
        rotate(file)
        let fd = Glibc.open(file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return .failure(AufsError("cannot open \(directory)/\(name): \(SysErrno(errno))")) }
        return .success(Transcript(fd: fd, path: directory + "/" + name))
    }

    /// install.log -> .1 -> ... -> .5 (the oldest dropped) when it has grown past the limit.
    static func rotate(_ file: String) {
        var st = stat()
        guard lstat(file, &st) == 0, st.st_size >= limit else { return }
        unlink(file + ".\(keep)")
        for n in stride(from: keep - 1, through: 1, by: -1) { rename(file + ".\(n)", file + ".\(n + 1)") }
        rename(file, file + ".1")
    }

    public func write(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }  // a full disk loses the transcript, never the install
            done += n
        }
    }

    public func line(_ s: String) { write(Array((s + "\n").utf8)) }

    /// Now as `2026-01-31 12:00:00 UTC`, for the line that starts a run.
    public static func timestamp() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%Y-%m-%d %H:%M:%S UTC", &tm)
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
