// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct ShellAssignmentsTests {
    static let centos7 = """
        GRUB_TIMEOUT=5
        GRUB_DISTRIBUTOR="$(sed 's, release .*$,,g' /etc/system-release)"
        GRUB_DEFAULT=saved
        GRUB_DISABLE_SUBMENU=true
        GRUB_TERMINAL_OUTPUT="console"
        GRUB_CMDLINE_LINUX="crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet"
        GRUB_DISABLE_RECOVERY="true"

        """

    /// (name, input, expected output) for GRUB_DEFAULT=0.
    static let variants: [(String, String, String)] = [
        (
            "stock CentOS 7 with $(sed ...) and saved", centos7,
            centos7.replacingFirst("GRUB_DEFAULT=saved", "GRUB_DEFAULT=0")
        ),
        ("double quoted", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=\"saved\"\n", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=0\n"),
        ("single quoted", "GRUB_DEFAULT='1>2'\n", "GRUB_DEFAULT=0\n"),
        (
            "commented only", "#GRUB_DEFAULT=0\n# GRUB_DEFAULT=saved\nGRUB_TIMEOUT=5\n",
            "#GRUB_DEFAULT=0\n# GRUB_DEFAULT=saved\nGRUB_TIMEOUT=5\nGRUB_DEFAULT=0\n"
        ),
        (
            "duplicated: last wins", "GRUB_DEFAULT=1\nGRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\n",
            "GRUB_DEFAULT=1\nGRUB_TIMEOUT=5\nGRUB_DEFAULT=0\n"
        ),
        ("missing", "GRUB_TIMEOUT=5\n", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=0\n"),
        ("empty file", "", "GRUB_DEFAULT=0\n"),
        ("export prefix", "export GRUB_DEFAULT=saved\n", "export GRUB_DEFAULT=0\n"),
        ("indented", "  GRUB_DEFAULT=saved\n", "  GRUB_DEFAULT=0\n"),
        (
            "CRLF", "GRUB_TIMEOUT=5\r\nGRUB_DEFAULT=saved\r\nGRUB_X=1\r\n",
            "GRUB_TIMEOUT=5\r\nGRUB_DEFAULT=0\r\nGRUB_X=1\r\n"
        ),
        ("CRLF missing", "GRUB_TIMEOUT=5\r\n", "GRUB_TIMEOUT=5\r\nGRUB_DEFAULT=0\r\n"),
        ("no final newline", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=0"),
        ("no final newline, missing", "GRUB_TIMEOUT=5", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=0\n"),
        ("trailing comment", "GRUB_DEFAULT=saved # pick the last one\n", "GRUB_DEFAULT=0 # pick the last one\n"),
        (
            "similar key not touched", "GRUB_DEFAULT_X=3\nMY_GRUB_DEFAULT=1\n",
            "GRUB_DEFAULT_X=3\nMY_GRUB_DEFAULT=1\nGRUB_DEFAULT=0\n"
        ),
        (
            "menu entry title", "GRUB_DEFAULT=\"Advanced options for Debian GNU/Linux>Debian, with Linux 6.1\"\n",
            "GRUB_DEFAULT=0\n"
        ),
        ("variable reference", "GRUB_DEFAULT=$SAVED\n", "GRUB_DEFAULT=0\n"),
        ("unterminated quote", "GRUB_DEFAULT=\"saved\nGRUB_TIMEOUT=5\n", "GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n"),
        ("already 0", "GRUB_DEFAULT=0\n", "GRUB_DEFAULT=0\n"),
        ("already \"0\"", "GRUB_DEFAULT=\"0\"\n", "GRUB_DEFAULT=\"0\"\n"),
        ("tab separated export", "export\tGRUB_DEFAULT=saved\n", "export\tGRUB_DEFAULT=0\n"),
    ]

    @Test(arguments: 0..<variants.count)
    func grubDefault(_ i: Int) {
        let (name, input, expected) = Self.variants[i]
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "0", in: input)
        #expect(out == expected, "\(name)")
        #expect(changed == (input != expected), "\(name)")
        // The result parses and says 0; a second edit changes nothing.
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == "0", "\(name)")
        #expect(ShellAssignments.set("GRUB_DEFAULT", to: "0", in: out).changed == false, "\(name)")
        // At most one line differs, or one was appended.
        let a = ShellAssignments.lines(of: input), b = ShellAssignments.lines(of: out)
        let differing = zip(a, b).filter { $0.0 != $0.1 }.count
        #expect(differing + (b.count - a.count) <= 1 || (differing <= 1 && b.count == a.count + 1), "\(name)")
    }

    @Test func valuesNeedingQuotes() {
        let (out, _) = ShellAssignments.set("GRUB_DEFAULT", to: "Advanced options>Debian $x \"y\"", in: "")
        #expect(out == "GRUB_DEFAULT=\"Advanced options>Debian \\$x \\\"y\\\"\"\n")
        #expect(ShellAssignments.find("GRUB_DEFAULT", in: out)?.value == "Advanced options>Debian $x \"y\"")
    }

    @Test func sysconfigKernel() {
        let input =
            "# UPDATEDEFAULT specifies if new-kernel-pkg should make\n# new kernels the default\nUPDATEDEFAULT=yes\n\n# DEFAULTKERNEL specifies the default kernel package type\nDEFAULTKERNEL=kernel\n"
        let (out, changed) = ShellAssignments.set("DEFAULTKERNEL", to: "kernel-ml-aufs", in: input)
        #expect(changed)
        #expect(out == input.replacingFirst("DEFAULTKERNEL=kernel\n", "DEFAULTKERNEL=kernel-ml-aufs\n"))
        #expect(ShellAssignments.find("UPDATEDEFAULT", in: out)?.value == "yes")
    }
}

extension String {
    func replacingFirst(_ a: String, _ b: String) -> String {
        guard let r = firstRange(of: a) else { return self }
        return String(self[..<r.lowerBound]) + b + String(self[r.upperBound...])
    }
}

/// Byte-exact edits: a Latin-1 comment, CRLF endings and a missing final newline survive a change
/// to another line, in Swift and in the --emit-sh helper.
@Suite struct ByteExactEditTests {
    static let latin1: [UInt8] =
        Array("# d".utf8) + [0xE9] + Array("faut: le noyau r".utf8) + [0xE9, 0x63, 0x65, 0x6E, 0x74, 0x0D, 0x0A]
        + Array("GRUB_DEFAULT=saved # was \"".utf8) + [0xE9] + Array("\"\r\n".utf8)
        + Array("GRUB_CMDLINE_LINUX=\"quiet ".utf8) + [0xFF, 0xFE] + Array("\"\r\n".utf8)
        + Array("GRUB_TIMEOUT=5".utf8)

    @Test func swiftKeepsEveryOtherByte() {
        let (out, changed) = ShellAssignments.set("GRUB_DEFAULT", to: "0", inBytes: Self.latin1)
        #expect(changed)
        let head: [UInt8] = Array(Self.latin1[0..<27])
        var want: [UInt8] = head + Array("GRUB_DEFAULT=0 # was \"".utf8) + [0xE9] + Array("\"\r\n".utf8)
        want +=
            Array("GRUB_CMDLINE_LINUX=\"quiet ".utf8) + [0xFF, 0xFE] + Array("\"\r\n".utf8)
            + Array("GRUB_TIMEOUT=5".utf8)
        #expect(out == want, "\(out)")
        #expect(!out.contains(0xBD) && out.filter { $0 == 0xE9 }.count == 3)
        #expect(ShellAssignments.find("GRUB_DEFAULT", inBytes: out)?.value == "0")
        // Appending keeps the whole input (a CRLF file gets a CRLF line).
        let (appended, _) = ShellAssignments.set("GRUB_SAVEDEFAULT", to: "true", inBytes: Self.latin1)
        #expect(Array(appended.prefix(Self.latin1.count)) == Self.latin1)
        #expect(Array(appended.suffix(from: Self.latin1.count)) == Array("\r\nGRUB_SAVEDEFAULT=true\r\n".utf8))
    }

    static func facts() async throws -> HostFacts {
        try await HostProbe(root: HostRoot(packageRoot() + "/Tests/Fixtures/roots/debian12"), runner: ScriptedRunner())
            .probe()
    }

    @Test func installStepKeepsLatin1() async throws {
        let t = TempDir()
        let path = t.path + "/etc/default/grub"
        t.mkdirs(t.path + "/etc/default")
        try AtomicFile.write(path, Self.latin1)
        let ctx = InstallContext(
            root: HostRoot(t.path), runner: ScriptedRunner(), syscalls: FakeSyscalls(), options: InstallOptions())
        _ = try ctx.setAssignment("GRUB_DEFAULT", to: "0", in: "/etc/default/grub")
        guard case .success(let b) = FileRead.bytes(path) else { Issue.record("unreadable"); return }
        #expect(b.filter { $0 == 0xE9 }.count == 3 && !b.contains(0xBD), "\(b)")
        #expect(ctx.isSet("GRUB_DEFAULT", to: "0", in: "/etc/default/grub"))
    }

    @Test func emittedHelperKeepsEveryOtherByte() async throws {
        let t = TempDir()
        let path = t.path + "/grub"
        try AtomicFile.write(path, Self.latin1)
        let script = ShellScript.render(
            Plan(method: .kernelMLAufs, target: .package("k"), steps: [], rebootRequired: false, afterwards: []),
            facts: try await Self.facts())
        let r = try await SubprocessRunner().run([
            "/bin/sh", "-c", script + "\naufsctl_set GRUB_DEFAULT 0 \"$1\"\naufsctl_get GRUB_DEFAULT \"$1\"\n", "sh",
            path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "0\n")
        guard case .success(let b) = FileRead.bytes(path) else { Issue.record("unreadable"); return }
        // Lines other than the changed one are byte-identical; the changed one keeps its CR.
        let lines = ShellAssignments.lines(ofBytes: b).map(Array.init)
        let old = ShellAssignments.lines(ofBytes: Self.latin1).map(Array.init)
        #expect(lines.count == old.count)
        #expect(lines[0] == old[0] && lines[2] == old[2] && lines[3] == old[3], "\(b)")
        #expect(lines[1] == Array("GRUB_DEFAULT=0\r\n".utf8))
    }
}
