// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "aufsctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aufsctl", targets: ["aufsctl"]),
        .library(name: "AufsKit", targets: ["AufsKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CKmod", pkgConfig: "libkmod", providers: [.apt(["libkmod-dev"])]),
        .systemLibrary(name: "CBlkid", pkgConfig: "blkid", providers: [.apt(["libblkid-dev"])]),
        .systemLibrary(name: "CMount", pkgConfig: "mount", providers: [.apt(["libmount-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CLinuxShims"),
        .target(
            name: "AufsKit",
            dependencies: [
                "CKmod", "CBlkid", "CMount", "CZlib", "CLinuxShims",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
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
            dependencies: ["AufsKit"],
            resources: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
