// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .unsafeFlags(["-warnings-as-errors"])
]

let package = Package(
    name: "tokentop",
    products: [
        .executable(name: "tokentop", targets: ["tokentop"]),
        .library(name: "TokentopCore", targets: ["TokentopCore"]),
        .executable(name: "tokentop-bench", targets: ["tokentop-bench"]),
    ],
    targets: [
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "TokentopCore", dependencies: ["CSQLite", "CCrypto", "CCurl", "CPostgres"],
            resources: [.embedInCode("Catalog/providers.json")], swiftSettings: strict),
        .target(name: "TokentopTUI", dependencies: ["TokentopCore", "CNcurses"], swiftSettings: strict),
        .executableTarget(name: "tokentop", dependencies: ["TokentopCore", "TokentopTUI"], swiftSettings: strict),
        .executableTarget(
            name: "tokentop-bench", dependencies: ["TokentopCore", "TokentopTUI"], swiftSettings: strict),
        // Fixtures that more than one test target uses (the PostgreSQL server); a library, since SwiftPM lets
        // no source file belong to two targets.
        .target(
            name: "TokentopTestSupport", dependencies: ["TokentopCore"], path: "Tests/TokentopTestSupport",
            swiftSettings: strict),
        .testTarget(
            name: "TokentopCoreTests", dependencies: ["TokentopCore", "TokentopTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "TokentopTUITests", dependencies: ["TokentopTUI", "TokentopCore"], exclude: ["Snapshots"],
            swiftSettings: strict),
        .testTarget(
            name: "EndToEndTests", dependencies: ["TokentopCore", "tokentop", "TokentopTestSupport"],
            swiftSettings: strict),
    ]
)
