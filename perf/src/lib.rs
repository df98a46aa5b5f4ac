//! synwall benchmarks.
//!
//! [`gen`] builds captures: hand-written scenarios for replay and end-to-end tests, and bulk
//! profiles (many flows, fixed size or IMIX) for benchmarks. The `synwall-gen` binary writes
//! them as pcap files.

pub mod gen;
