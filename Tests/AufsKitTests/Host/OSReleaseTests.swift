// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct OSReleaseTests {
    @Test func centos7() {
        let os = OSRelease.parse(
            """
            NAME="CentOS Linux"
            VERSION="7 (Core)"
            ID="centos"
            ID_LIKE="rhel fedora"
            VERSION_ID="7"
            PRETTY_NAME="CentOS Linux 7 (Core)"
            """)
        #expect(os.id == "centos")
        #expect(os.idLike == ["rhel", "fedora"])
        #expect(os.versionID == "7")
        #expect(os.problems.isEmpty)
        #expect(DistroFamily.classify(os) == .rhel(major: 7))
    }

    @Test func quotingEscapesAndComments() {
        let os = OSRelease.parse(
            """
            # a comment
              # indented comment
            A='single $HOME "kept"'
            B="dq \\"x\\" \\$y \\\\ \\`z\\` \\n"
            C=bare\\ word
            D=
            E="a"'b'c
            F="x" # trailing comment
            """)
        #expect(os.fields["A"] == "single $HOME \"kept\"")
        #expect(os.fields["B"] == "dq \"x\" $y \\ `z` \\n")
        #expect(os.fields["C"] == "bare word")
        #expect(os.fields["D"] == "")
        #expect(os.fields["E"] == "abc")
        #expect(os.fields["F"] == "x")
        #expect(os.problems.isEmpty)
    }

    @Test func malformedLinesAreReportedNotFatal() {
        let os = OSRelease.parse("ID=debian\ngarbage line\nX=\"open\n1BAD=x\nY=a b\nVERSION_ID=12\r\n")
        #expect(os.id == "debian")
        #expect(os.versionID == "12")
        #expect(os.problems.count == 4)
        #expect(os.problems[0].hasPrefix("line 2:"))
        #expect(os.problems.contains { $0.contains("unterminated double quote") })
    }

    @Test(arguments: [
        ("ID=debian\nVERSION_ID=\"11\"", "debian 11"),
        ("ID=debian\nVERSION_ID=\"12\"", "debian 12"),
        ("ID=debian\nVERSION_CODENAME=trixie", "debian testing"),
        ("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"20.04\"", "ubuntu 20.04"),
        ("ID=ubuntu\nVERSION_ID=\"22.04\"", "ubuntu 22.04"),
        ("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"", "rhel-like 8"),
        ("ID=\"rhel\"\nVERSION_ID=\"7.9\"", "rhel-like 7"),
        ("ID=fedora\nVERSION_ID=39", "other (fedora)"),
        ("ID=arch", "other (arch)"),
    ])
    func families(text: String, family: String) {
        #expect(DistroFamily.classify(OSRelease.parse(text)).description == family)
    }
}

@Suite struct KernelReleaseTests {
    @Test func el7() throws {
        let k = try #require(KernelRelease("3.10.0-1160.el7.x86_64"))
        #expect(k.major == 3 && k.minor == 10 && k.patch == 0)
        #expect(k.suffix == "-1160.el7.x86_64")
        #expect(k.flavor == .el7)
    }

    @Test func kernelMLAufs() throws {
        let k = try #require(KernelRelease("5.13.1-1.el7.x86_64"))
        #expect(k.flavor == .elRepo)
        #expect(k.series == "5.13")
    }

    @Test func debianAndUbuntu() throws {
        #expect(KernelRelease("6.1.0-18-amd64")?.flavor == .debian)
        #expect(KernelRelease("6.1.0-18-cloud-amd64")?.flavor == .debian)
        #expect(KernelRelease("5.4.0-42-generic")?.flavor == .ubuntu)
        let rc = try #require(KernelRelease("6.8.0-rc3"))
        #expect(rc.flavor == .rc && rc.rc == 3)
        #expect(KernelRelease("6.18.44-fc-v669")?.flavor == .other)
        #expect(KernelRelease("4.19")?.patch == nil)
    }

    @Test(arguments: [
        "", "garbage", "6", "6.", ".1", "6.x.1", "../../etc", "6.1.0 -18", "6.1.0-18\n-amd64", "999999.1",
        String(repeating: "1", count: 80),
    ])
    func garbage(_ s: String) {
        #expect(KernelRelease(s) == nil)
    }

    @Test func debianPointRelease() {
        #expect(
            KernelRelease.debianPointRelease(fromVersion: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)")
                == "6.1.76-1")
        #expect(KernelRelease.debianPointRelease(fromVersion: "#1 SMP PREEMPT_DYNAMIC @0") == nil)
        #expect(KernelRelease.debianPointRelease(fromVersion: "#42-Ubuntu SMP Mon Jul 20 2020") == nil)
    }
}

@Suite struct ProcFilesystemsTests {
    @Test func parse() {
        let text = "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\nnodev\taufs\n\txfs\n"
        let fs = ProcFilesystems.parse(text)
        #expect(fs.has("aufs") && fs.has("overlay") && fs.has("ext4"))
        #expect(!fs.has("nodev") && !fs.has("btrfs"))
        #expect(fs.evidenceLine("aufs", in: text) == "nodev aufs")
        #expect(!ProcFilesystems.parse("nodev\taufs2\n").has("aufs"))
    }
}

@Suite struct DKMSStatusTests {
    @Test func newFormat() throws {
        let e = DKMSStatusEntry.parse(
            "aufs/6.1, 6.1.0-18-cloud-amd64, x86_64: installed\nzfs/2.1.11, 6.1.0-18-amd64, x86_64: installed (WARNING! Diff between built and installed module!)\naufs/0.0-standin: added\n"
        )
        #expect(e.count == 3)
        #expect(
            e[0]
                == DKMSStatusEntry(
                    module: "aufs", version: "6.1", kernel: "6.1.0-18-cloud-amd64", arch: "x86_64", state: "installed",
                    note: nil))
        #expect(e[1].note == "(WARNING! Diff between built and installed module!)")
        #expect(e[2].state == "added" && e[2].kernel == nil)
    }

    @Test func oldFormat() {
        let e = DKMSStatusEntry.parse(
            "aufs, 5.4, 5.4.0-42-generic, x86_64: installed\naufs, 5.4, 5.4.0-40-generic, x86_64: built\n")
        #expect(e.map(\.version) == ["5.4", "5.4"])
        #expect(e.map(\.state) == ["installed", "built"])
        #expect(e[1].kernel == "5.4.0-40-generic")
    }

    @Test func noise() {
        #expect(DKMSStatusEntry.parse("\nError! no such thing\n: x\n").isEmpty)
    }
}
