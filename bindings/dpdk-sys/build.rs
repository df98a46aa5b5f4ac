//! Generates DPDK bindings against the system's DPDK (found with pkg-config) and compiles the shim.
//!
//! Bindings depend on the DPDK build configuration (RTE_MAX_ETHPORTS, RTE_MAX_LCORE, ...), so they are
//! generated here at build time and never committed.

use std::env;
use std::path::PathBuf;

/// Drivers linked whole-archive with the `static` feature: DPDK drivers register themselves from ELF
/// constructors, which a plain static link would drop ("failed to parse device").
const STATIC_DRIVERS: &[&str] = &[
    "bus_vdev",
    "bus_pci",
    "mempool_ring",
    "net_null",
    "net_pcap",
    "net_tap",
    "net_ring",
    "net_ixgbe",
    "net_i40e",
    "net_ice",
    "net_iavf",
    "common_iavf",
    "net_virtio",
    "net_vmxnet3",
];

/// Mellanox drivers: only when rdma-core's libraries are installed (they need libibverbs and libmlx5).
const STATIC_MLX5_DRIVERS: &[&str] = &["bus_auxiliary", "common_mlx5", "net_mlx5"];

/// Driver-class prefixes: libraries with these prefixes are drivers, all others are DPDK core libs.
const DRIVER_PREFIXES: &[&str] = &[
    "bus_",
    "common_",
    "mempool_",
    "net_",
    "crypto_",
    "compress_",
    "baseband_",
    "event_",
    "raw_",
    "regex_",
    "vdpa_",
    "dma_",
    "gpu_",
    "ml_",
];

fn main() {
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let statik = env::var_os("CARGO_FEATURE_STATIC").is_some();
    let lib = pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(!statik)
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!(
                "\n\nDPDK (>= 22.11) was not found by pkg-config: {e}\n\
                 Install it: apt-get install dpdk-dev libdpdk-dev pkg-config clang libclang-dev\n\n"
            )
        });

    // The C flags pkg-config gives (-include rte_config.h -march=corei7 -I...). Keep -march as the
    // distribution built DPDK (corei7): never -march=native, a binary built here must run elsewhere.
    let cflags = pkg_config_output(&["--cflags", "libdpdk"]);
    let cflags: Vec<String> = cflags.split_whitespace().map(str::to_owned).collect();

    let mut build = cc::Build::new();
    build
        .file("shim/shim.c")
        .include("shim")
        .opt_level(3)
        .warnings(true);
    for flag in &cflags {
        build.flag(flag);
    }
    build.compile("synwall_dpdk_shim");

    if statik {
        link_static();
    }

    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    let mut builder = bindgen::Builder::default()
        .header("shim/shim.h")
        .clang_args(cflags.iter().filter(|f| !f.starts_with("-march")))
        .clang_args(
            lib.include_paths
                .iter()
                .map(|p| format!("-I{}", p.display())),
        )
        .allowlist_function("rte_.*|shim_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*|rte_.*")
        // Packed structs containing aligned members (E0588): keep them opaque.
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        .opaque_type("rte_gtp_psc_.*")
        .opaque_type("rte_arp_hdr")
        .opaque_type("rte_arp_ipv4")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for flag in cflags.iter().filter(|f| f.starts_with("-march")) {
        builder = builder.clang_arg(flag);
    }
    builder
        .generate()
        .expect("bindgen could not generate DPDK bindings (is libclang-dev installed?)")
        .write_to_file(&out)
        .expect("could not write bindings");
}

fn pkg_config_output(args: &[&str]) -> String {
    let out = std::process::Command::new("pkg-config")
        .args(args)
        .output()
        .expect("pkg-config not found: apt-get install pkg-config");
    assert!(out.status.success(), "pkg-config {args:?} failed");
    String::from_utf8(out.stdout).expect("pkg-config output is not UTF-8")
}

/// Static linking: drivers whole-archive, DPDK core libraries plain static, then the system libraries
/// the chosen drivers need. Driver archives not named in STATIC_DRIVERS are left out.
fn link_static() {
    let libdir = pkg_config_output(&["--variable=libdir", "libdpdk"]);
    let libdir = libdir.trim();
    println!("cargo:rustc-link-search=native={libdir}");
    let have = |name: &str| std::path::Path::new(&format!("{libdir}/librte_{name}.a")).exists();

    let mut drivers: Vec<&str> = STATIC_DRIVERS.iter().copied().filter(|d| have(d)).collect();
    let mlx5 = std::path::Path::new(&format!("{libdir}/libmlx5.so")).exists()
        && std::path::Path::new(&format!("{libdir}/libibverbs.so")).exists();
    if mlx5 {
        drivers.extend(STATIC_MLX5_DRIVERS.iter().copied().filter(|d| have(d)));
    }
    for d in &drivers {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=rte_{d}");
    }

    let libs = pkg_config_output(&["--static", "--libs", "libdpdk"]);
    let mut core = Vec::new();
    for tok in libs.split_whitespace() {
        let name = tok
            .strip_prefix("-l:librte_")
            .and_then(|t| t.strip_suffix(".a"))
            .or_else(|| tok.strip_prefix("-lrte_"));
        if let Some(name) = name {
            let is_driver = DRIVER_PREFIXES.iter().any(|p| name.starts_with(p));
            if !is_driver && !core.contains(&name) {
                core.push(name);
            }
        }
    }
    // Core libraries also carry constructors (log types, telemetry, the ethdev and mempool
    // registries); link them whole so nothing that registers itself silently disappears.
    for name in &core {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=rte_{name}");
    }
    let mut system = vec!["pcap", "numa", "m", "dl", "pthread", "atomic"];
    for extra in [
        "bsd",
        "fdt",
        "jansson",
        "elf",
        "bpf",
        "xdp",
        "z",
        "crypto",
        "IPSec_MB",
        "isal",
        "nl-3",
        "nl-route-3",
        "dbus-1",
        "md",
    ] {
        if std::path::Path::new(&format!("{libdir}/lib{extra}.so")).exists() {
            system.push(extra);
        }
    }
    if mlx5 {
        system.extend(["mlx5", "ibverbs"]);
    }
    for s in system {
        println!("cargo:rustc-link-lib=dylib={s}");
    }
}
