import Glibc
import Testing
@testable import AufsKit

/// Real DKMS on this machine: the stand-in module (Kernel/standin) built for a real Debian cloud
/// kernel's headers by `aufsctl install --method dkms`, re-run, refused without the export
/// override, and removed by `aufsctl uninstall`.
@Suite(.serialized) struct RealDKMSTests {
    @Test func installRerunPreflightUninstall() async throws {
        guard geteuid() == 0, let k = getenv("AUFSCTL_TEST_KVER").map({ String(cString: $0) }) else {
            print("skipped: installRerunPreflightUninstall needs root and AUFSCTL_TEST_KVER (run through make test as root)")
            return
        }
        let source = packageRoot() + "/Kernel/standin"
        let args = ["install", "--method", "dkms", "--source", source, "--kernel", k, "--no-load", "--yes"]
        let ko = "/lib/modules/\(k)/updates/dkms/aufs.ko"

        let first = try await aufsctl(args + ["--skip-export-check"])
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        #expect(first.stdout.contains("dkms build aufs/0.0-standin -k \(k) ... changed"), "\(first.stdout)")
        #expect(FileRead.exists(ko))
        let status = try await SubprocessRunner().run(["dkms", "status", "-m", "aufs"])
        #expect(DKMSStatusEntry.parse(status.stdout).contains { $0.version == "0.0-standin" && $0.kernel == k && $0.state == "installed" }, "\(status.stdout)")
        var st1 = stat()
        stat(ko, &st1)

        let second = try await aufsctl(args + ["--skip-export-check"])
        #expect(second.status == 0)
        #expect(second.stdout.contains("nothing to do") && !second.stdout.contains("changed"), "\(second.stdout)")
        var st2 = stat()
        stat(ko, &st2)
        #expect(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec && st1.st_ino == st2.st_ino, "the module was rebuilt")

        // With the headers in place, the preflight reads the real Module.symvers and stops.
        let blocked = try await aufsctl(args)
        #expect(blocked.status == 4, "\(blocked.stdout)\n\(blocked.stderr)")
        #expect(blocked.stdout.contains("lacks") && blocked.stdout.contains("d_walk") && blocked.stdout.contains("symbols aufs needs"))
        #expect(blocked.stdout.contains("dkms build aufs/0.0-standin -k \(k) ... not reached"))

        let un = try await aufsctl(["uninstall", "--yes"])
        #expect(un.status == 0, "\(un.stdout)\n\(un.stderr)")
        #expect(!FileRead.exists(ko))
        #expect(!FileRead.exists("/usr/src/aufs-0.0-standin"))
        #expect(!FileRead.exists("/etc/modules-load.d/aufs.conf"))
        let after = try await SubprocessRunner().run(["dkms", "status", "-m", "aufs"])
        #expect(DKMSStatusEntry.parse(after.stdout).isEmpty, "\(after.stdout)")
        #expect(try InstallState.load(root: HostRoot()).installs.isEmpty)
    }
}
