// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import CBlkid
import CLinuxShims
import CZlib

/// What `aufsctl --version` says: the version, the library versions the binary was linked
/// against (the oldest it runs with), and the ones this host has.
public enum BuildInfo {
    public static let version = "0.1.0"

    #if AUFSCTL_GLIBC231
    /// scripts/build.sh links against Debian 11's packages (and checks their versions).
    public static let builtAgainst =
        "glibc 2.31, libkmod 28, libblkid 2.36.1, zlib 1.2.11 (Debian 11): runs where these or newer are installed"
    #else
    public static let builtAgainst =
        "this build host's libraries (a development build; `make build` makes the glibc 2.31 release binary)"
    #endif

    /// The versions loaded right now (libkmod has no version call).
    public static var running: String {
        var blkid: UnsafePointer<CChar>?
        _ = blkid_get_library_version(&blkid, nil)
        func s(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "?" }
        return
            "glibc \(s(aufsctl_libc_version())), libblkid \(s(blkid)), zlib \(s(zlibVersion()))"
    }

    public static var text: String {
        "\(version)\nbuilt against: \(builtAgainst)\nrunning with: \(running)"
    }
}
