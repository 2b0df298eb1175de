// swift-tools-version: 6.2
// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
import PackageDescription

let package = Package(
    name: "aufsctl",
    products: [
        .executable(name: "aufsctl", targets: ["aufsctl"]),
        .executable(name: "aufsctl-helper", targets: ["aufsctl-helper"]),
        .library(name: "AufsKit", targets: ["AufsKit", "AufsJournal", "AufsSystem", "AufsMount"]),
    ],
    dependencies: [
        // Exact versions, no committed Package.resolved: its revisions would be a local mirror's.
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
    ],
    targets: [
        // libkmod and libblkid: their headers, and their functions loaded with dlopen at first use
        // (CLibLoad), so a command that does not use them does not load them. Packages of aufsctl
        // must declare them as dependencies: dpkg-shlibdeps cannot see a dlopen. libmount (CMount)
        // is only the tests' reference for MountTable's mountinfo parser.
        .target(name: "CLibLoad", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CKmod", dependencies: ["CLibLoad"]),
        .target(name: "CBlkid", dependencies: ["CLibLoad"]),
        .target(name: "CMount", dependencies: ["CLibLoad"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CLinuxShims"),
        // xattrs, renameat2, FICLONE, copy_file_range: what `aufsctl convert` needs beyond Glibc.
        .target(name: "CConvert"),
        // What the mount helper needs (mount, umount, remount, status, module loading), with the
        // standard library only: no Foundation, Dispatch or swift-subprocess, so that
        // mount.aufs (aufsctl-helper) starts as quickly as a small Swift program.
        .target(name: "AufsMount", dependencies: ["CKmod", "CBlkid", "CZlib", "CLinuxShims", "CLibLoad"]),
        .executableTarget(name: "aufsctl-helper", dependencies: ["AufsMount"]),
        // The seams below the install wing: external programs by argv (swift-subprocess) and the
        // host's files (HostFileSystem), and the one JSON encoding.
        .target(
            name: "AufsSystem",
            dependencies: [
                "AufsMount",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The journal room: the state file (install, persist and helper records), undo and the
        // uninstaller. check and install both read it; it reads neither, and the compiler keeps it so.
        .target(name: "AufsJournal", dependencies: ["AufsSystem", "AufsMount"]),
        .target(
            name: "AufsKit",
            dependencies: [
                "AufsJournal", "AufsSystem", "AufsMount", "CKmod", "CBlkid", "CZlib", "CLinuxShims", "CLibLoad",
                "CConvert", .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .executableTarget(
            name: "aufsctl",
            dependencies: [
                "AufsKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "AufsKitTests",
            dependencies: ["AufsKit", "AufsJournal", "AufsSystem", "AufsMount", "CMount", "CConvert"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
