// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import Testing

@testable import AufsKit
@testable import AufsMount

@Suite struct TemplateTests {
    /// The binary's copy of every template equals the file under Templates/.
    @Test func embeddedTemplatesMatchFiles() throws {
        let dir = packageRoot() + "/Templates"
        let names = (FileRead.list(dir) ?? []).filter { $0 != "generate.sh" }
        #expect(names.count == TemplatesData.files.count, "run Templates/generate.sh")
        for n in names {
            #expect(try Template.source(n) == FileRead.string(dir + "/" + n), "\(n): run Templates/generate.sh")
        }
    }

    @Test func dkmsConf() throws {
        let out = try Template.render("dkms.conf", ["version": "6.1", "buildExclusive": ""])
        #expect(out.hasPrefix("PACKAGE_NAME=\"aufs\"\nPACKAGE_VERSION=\"6.1\"\n"))
        // The module only: the default target's scripts_unifdef damages bindeb-pkg headers.
        #expect(out.contains("MAKE[0]=\"make KDIR=${kernel_source_dir} aufs.ko\"\n"))
        // Empty: dkms 3.0.10 takes any value as yes; aufsctl's kernel hook builds instead.
        #expect(out.contains("AUTOINSTALL=\"\"\n"))
        #expect(!out.contains("BUILD_EXCLUSIVE") && !out.contains("{{"))
        let excl = try Template.render("dkms.conf", ["version": "6.1", "buildExclusive": "^6\\.1\\."])
        #expect(excl.contains("BUILD_EXCLUSIVE_KERNEL=\"^6\\.1\\.\"\n"))
    }

    @Test func missingValueIsAnError() {
        #expect(throws: AufsError.self) { try Template.render("dkms.conf", [:]) }
    }

    @Test func repoFile() throws {
        let out = try Template.render(
            "kernel-ml-aufs.repo",
            [
                "baseurl": "https://example.invalid/el7/x86_64/", "gpgcheck": "1",
                "gpgkey": "https://example.invalid/KEY",
            ])
        #expect(
            out
                == "[kernel-ml-aufs]\nname=kernel-ml-aufs (added by aufsctl)\nbaseurl=https://example.invalid/el7/x86_64/\nenabled=1\ngpgcheck=1\ngpgkey=https://example.invalid/KEY\n"
        )
        let unsigned = try Template.render(
            "kernel-ml-aufs.repo", ["baseurl": "https://example.invalid/el7/x86_64/", "gpgcheck": "0", "gpgkey": ""])
        #expect(unsigned.hasSuffix("enabled=1\ngpgcheck=0\n"))
    }
}
