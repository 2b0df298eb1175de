// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Synchronization
import Testing

@testable import AufsKit

/// What a display received, with the monotonic time of each write.
final class RecordingDisplay: Sendable {
    let writes = Mutex<[(Double, String)]>([])
    func display(terminal: Bool) -> ProgressSink.Display {
        .init(isTerminal: terminal, write: { s in self.writes.withLock { $0.append((ProgressSink.now(), s)) } })
    }
    var text: String { writes.withLock { $0.map(\.1).joined() } }
}

@Suite struct ProgressTests {
    /// Off a terminal, a slow command's heartbeat arrives while it runs (before its last output),
    /// naming the last output, a line still being written (dkms's dots) included.
    @Test func heartbeatBeforeTheCommandEnds() async throws {
        let rec = RecordingDisplay()
        let sink = ProgressSink(display: rec.display(terminal: false), heartbeat: 1)
        let argv = ["sh", "-c", "echo building; printf '...'; sleep 3; echo done"]
        let r = try await sink.stream(
            label: "[6/9] dkms build", argv: argv, shown: "sh", environment: [:], runner: SubprocessRunner())
        let end = ProgressSink.now()
        #expect(r.succeeded && r.stdout.contains("done"))
        let beats = rec.writes.withLock { $0.filter { $0.1.contains("still running after") } }
        #expect(!beats.isEmpty, "\(rec.text)")
        #expect(beats.contains { $0.0 < end - 1 }, "no heartbeat while the command ran")
        // The dots without a newline are the last output, as dkms's are.
        // (Under load the first beat may come before sh printed anything: "no output yet".)
        #expect(beats.contains { $0.1.contains("s: last output: ...") }, "\(rec.text)")
    }

    /// On a terminal one line is redrawn in place (carriage return, erase) and erased at the end.
    @Test func terminalStatusLine() async throws {
        let rec = RecordingDisplay()
        let sink = ProgressSink(display: rec.display(terminal: true), heartbeat: 30)
        _ = try await sink.stream(
            label: "[6/9] build", argv: ["sh", "-c", "echo one; sleep 1.5; echo two"], shown: "sh", environment: [:],
            runner: SubprocessRunner())
        #expect(rec.text.contains("\r\u{1B}[K[6/9] build ") && rec.text.hasSuffix("\r\u{1B}[K"), "\(rec.text)")
        #expect(!rec.text.contains("\n"))
    }

    /// apt waiting for another package manager's lock is said once.
    @Test func aptLockWaitIsSaidOnce() {
        let rec = RecordingDisplay()
        let sink = ProgressSink(display: rec.display(terminal: false), heartbeat: 30)
        sink.begin("[2/9] packages", command: "apt-get install")
        let wait = "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 42\n"
        sink.output(Array((wait + wait).utf8))
        sink.end()
        #expect(rec.text.components("waiting for another package manager").count == 2, "\(rec.text)")
        #expect(rec.text.contains("up to 10 min"))
    }
}

extension String {
    fileprivate func components(_ s: String) -> [Substring] { split(separator: s, omittingEmptySubsequences: false) }
}
