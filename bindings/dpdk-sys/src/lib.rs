//! Raw FFI bindings to DPDK, generated at build time by bindgen against the system's DPDK, plus the
//! `shim_*` wrappers of DPDK's static-inline functions (see `shim/shim.h`). Nothing here is safe to
//! call without reading DPDK's documentation; the `dpdk` crate is the safe edge.

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code
)]
#![allow(clippy::all)]
#![allow(rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
