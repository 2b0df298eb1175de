// swift-tools-version: 6.2
// SPDX-License-Identifier: GPL-2.0-or-later
// Copyright (C) 2025-2026 the aufsctl authors
// libFuzzer targets for AufsKit's parsers. Built by fuzz/run.sh with
//   swift build -c debug -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library
// (a debug build, so AufsKit is compiled with -enable-testing and `@testable import` reaches the
// internal Unmounter.splitEscaped/option without changing Sources/).
import PackageDescription

let targets = ["FuzzBranchSpec", "FuzzOSRelease", "FuzzGrubEdit", "FuzzGrubEditBytes", "FuzzDKMSStatus", "FuzzMountinfo", "FuzzKernelRelease", "FuzzFrameworkConf", "FuzzCertificate", "FuzzLoadFailure"]

let package = Package(
    name: "aufsctl-fuzz",
    dependencies: [.package(name: "aufsctl", path: "..")],
    targets: targets.map {
        .executableTarget(name: $0, dependencies: [.product(name: "AufsKit", package: "aufsctl")], path: "Sources/\($0)")
    },
    swiftLanguageModes: [.v6]
)
