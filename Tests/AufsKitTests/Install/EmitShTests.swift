// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Glibc
import Testing

@testable import AufsKit
@testable import AufsMount

/// `--emit-sh` for a CentOS 7 fixture: the script parses, runs against the root with stub commands,
/// and a second run changes nothing.
@Suite struct EmitShTests {
    static let stubs: [String: String] = [
        "yum": """
        #!/bin/sh
        case "$*" in
        "install -y yum-utils") cp "$STUBS/.yum-config-manager" "$STUBS/yum-config-manager"
            mkdir -p "$ROOT/usr/bin"; cp "$STUBS/.yum-config-manager" "$ROOT/usr/bin/yum-config-manager" ;;
        "install -y kernel-ml-aufs")
            mkdir -p "$ROOT/var/lib/fake-rpm"; : > "$ROOT/var/lib/fake-rpm/kernel-ml-aufs"
            : > "$ROOT/boot/vmlinuz-5.13.1-1.el7.x86_64"; printf 'CONFIG_AUFS_FS=y\\n' > "$ROOT/boot/config-5.13.1-1.el7.x86_64" ;;
        *) echo "stub yum: $*" >&2; exit 1 ;;
        esac
        echo "yum $*" >> "$ROOT/calls"
        """,
        "rpm": """
        #!/bin/sh
        [ -f "$ROOT/var/lib/fake-rpm/kernel-ml-aufs" ] || { echo 'package kernel-ml-aufs is not installed'; exit 1; }
        echo 5.13.1-1.el7.x86_64
        """,
        // Installed by the yum stub's `install -y yum-utils`.
        ".yum-config-manager": """
        #!/bin/sh
        printf '[kernel-ml-aufs]\\nname=kernel-ml-aufs\\n' > "$ROOT/etc/yum.repos.d/kernel-ml-aufs.repo"
        echo "yum-config-manager $*" >> "$ROOT/calls"
        """,
        "grub2-mkconfig": """
        #!/bin/sh
        [ "$1" = -o ] || exit 1
        for k in "$ROOT"/boot/vmlinuz-*; do echo "linux16 /$(basename "$k")"; done > "$2"
        echo "grub2-mkconfig $*" >> "$ROOT/calls"
        """,
        "grubby": """
        #!/bin/sh
        case "$1" in
        --default-kernel) cat "$ROOT/var/lib/grubby-default" 2>/dev/null || echo /boot/vmlinuz-3.10.0-1160.el7.x86_64 ;;
        --set-default) echo "$2" > "$ROOT/var/lib/grubby-default"; echo "grubby $*" >> "$ROOT/calls" ;;
        esac
        """,
    ]

    func script(grubDefault: String = "0") async throws -> (TempDir, String) {
        let t = copyFixture("centos7")
        var o = InstallOptions()
        o.method = .kernelMLAufs
        o.grubDefault = grubDefault
        let installer = Installer(root: HostRoot(t.path), runner: ScriptedRunner(), syscalls: FakeSyscalls())
        guard case .plan(let plan, let facts) = try await installer.decide(o) else { throw AufsError("no plan") }
        return (t, ShellScript.render(plan, facts: facts))
    }

    @Test func parsesWithShN() async throws {
        let (t, text) = try await script()
        t.write("plan.sh", text)
        let r = try await SubprocessRunner().run(["sh", "-n", t.path + "/plan.sh"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(text.hasPrefix("#!/bin/sh\n") && text.contains("\nset -eu\n"))
        #expect(text.contains("yum install -y kernel-ml-aufs") && !text.contains("kernel-ml-aufs-headers"))
    }

    @Test(arguments: ["0", "CentOS Linux (5.13.1-1.el7.x86_64) 7 (Core)"])
    func runsTwiceAgainstAFixtureRoot(_ grubDefault: String) async throws {
        let (t, text) = try await script(grubDefault: grubDefault)
        let stubs = t.path + "/stubs"
        t.mkdirs(stubs)
        for (name, body) in Self.stubs {
            t.write("stubs/" + name, body + "\n")
            chmod(stubs + "/" + name, 0o755)
        }
        t.write("plan.sh", text)
        let root = t.path + "/root"
        t.mkdirs(root)
        _ = try await SubprocessRunner().run([
            "cp", "-a", packageRoot() + "/Tests/Fixtures/roots/centos7/.", root + "/",
        ])
        let env = ["ROOT": root, "STUBS": stubs, "PATH": stubs + ":" + (String(cString: getenv("PATH")))]
        let grubBefore = FileRead.string(root + "/etc/default/grub") ?? ""

        let first = try await SubprocessRunner().run(["sh", t.path + "/plan.sh"], environment: env)
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("... changed"))
        #expect(
            FileRead.string(root + "/etc/default/grub")
                == grubBefore.replacingFirst(
                    "GRUB_DEFAULT=saved\n", "GRUB_DEFAULT=\(ShellAssignments.quote(grubDefault))\n"))
        // The edited file still parses as shell, and reads back the value.
        let parse = try await SubprocessRunner().run(["sh", "-n", root + "/etc/default/grub"])
        #expect(parse.status == 0, "\(parse.stderr)")
        #expect(
            ShellAssignments.find("GRUB_DEFAULT", in: FileRead.string(root + "/etc/default/grub") ?? "")?.value
                == grubDefault)
        // Backed up where the binary backs up (so uninstall and a reader find the same files).
        #expect(FileRead.string(root + "/var/lib/aufsctl/backups/etc_default_grub.0") == grubBefore)
        #expect(!FileRead.exists(root + "/etc/default/grub.aufsctl.bak"))
        #expect(FileRead.string(root + "/etc/sysconfig/kernel")?.contains("DEFAULTKERNEL=kernel-ml-aufs\n") == true)
        #expect(FileRead.string(root + "/var/lib/grubby-default") == "/boot/vmlinuz-5.13.1-1.el7.x86_64\n")
        let callsAfterFirst = FileRead.string(root + "/calls") ?? ""
        #expect(callsAfterFirst.split(separator: "\n").count == 5, "\(callsAfterFirst)")

        let second = try await SubprocessRunner().run(["sh", t.path + "/plan.sh"], environment: env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stdout.contains("changed"), "\(second.stdout)")
        #expect(FileRead.string(root + "/calls") == callsAfterFirst)
    }
}
